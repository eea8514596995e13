"""The support directory: organisations a reporter can be signposted to (admin-managed)."""
