"""Platform-wide commands (database, serving, backup)."""
