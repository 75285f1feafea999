"""Users, roles, area scopes, sign-in (web sessions and API tokens) and permissions."""
