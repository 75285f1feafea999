"""Append-only audit log: every entry signed with a key kept outside the database, and sealed in signed batches."""
