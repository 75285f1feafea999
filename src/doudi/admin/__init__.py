"""Administration: backups, administrative divisions and registry file imports from the console."""
