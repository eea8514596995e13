"""Equality monitoring: optional answers stored apart from any case (see docs/statistics.md)."""
