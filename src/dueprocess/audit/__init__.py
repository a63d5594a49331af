"""The audit log: a hash chain of events, signed checkpoints of its head, and the verifier.

``chain`` holds the pure primitives the writers call (canonical form, hashes, keys,
checkpoints, the export writer); ``service`` writes, reads, searches and exports the log;
``signer`` signs its head, keeping beside the key what it signed last and the heads it
publishes, and refuses a log that does not extend them; ``verify`` is the standalone checker
an outside party runs on an export, deliberately free of any other dueprocess import. The
format, and what a verification proves, are in ``docs/audit-format.md``.
"""
