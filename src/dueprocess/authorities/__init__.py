"""Requesters: authorities (police, courts, regulators) and how they are verified."""
