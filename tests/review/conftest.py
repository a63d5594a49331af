"""Fixtures of the review tests."""

from tests.microblog import posts

__all__ = ["posts"]
