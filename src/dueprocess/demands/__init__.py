"""Intake: the demand, its targets and documents, and the state machine it moves through."""
