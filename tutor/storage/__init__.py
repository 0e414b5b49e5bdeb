"""Saved progress: learners, sessions and runs in SQLite or PostgreSQL."""
