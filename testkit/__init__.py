"""Builders of test and benchmark data shared by tests/ and bench/ (tests never import from bench/)."""
