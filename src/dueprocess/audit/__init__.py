"""The audit log: a hash chain of events, signed checkpoints of its head, and the verifier.

``chain`` holds the pure primitives the writers call (canonical form, hashes, keys,
checkpoints, the export writer); ``verify`` is the standalone checker an outside party runs on
an export, deliberately free of any other dueprocess import. The format is specified in
``docs/audit-format.md``.
"""
