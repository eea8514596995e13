"""Files attached to a case: cleaned of what gives people away, then encrypted in chunks under the case's key."""
