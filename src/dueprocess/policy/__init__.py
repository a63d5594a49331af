"""Jurisdiction policy: per-country stances as data, validated, and evaluated as a pure function."""
