"""Staff accounts, roles, passwords and sessions."""
