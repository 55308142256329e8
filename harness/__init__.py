"""Helpers that run the app for real, shared by tests/ and bench/ (not part of the app)."""
