"""Users, roles, tokens and login."""
