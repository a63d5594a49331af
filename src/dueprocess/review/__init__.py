"""Review: checklists, risk flags, per-target decisions, human-rights sign-offs, four-eyes
approval, queues and deadlines (docs/review.md)."""
