"""Restrictions applied on government demands, and their DSA statements of reasons
(docs/dsa.md). The restriction model itself is being built in ``actions/``; this package holds
the statement part: :mod:`.sor` (facts to statement), :mod:`.dsa_api` (the database's rules),
:mod:`.sor_export` (batch files) and :mod:`.service` (where the statements come from)."""
