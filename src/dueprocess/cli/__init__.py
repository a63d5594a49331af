"""The ``dueprocess`` command line (:mod:`dueprocess.cli.main` assembles it). Thin: each
command parses its options, opens one transaction (:func:`dueprocess.cli.common.unit_of_work`)
and calls services; no business logic lives here."""
