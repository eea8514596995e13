"""Intake of concerns, receipts, the reporter's own session, messages and feedback."""
