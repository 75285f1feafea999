"""Household registry: persons, households, membership and facts with provenance."""
