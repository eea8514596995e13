"""The organisation's locations (stations, departments, teams, watches): an admin-managed list."""
