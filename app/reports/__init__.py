"""The reporter's side of a case: receipts exchanged for sessions, Idempotency-Key, what the reporter sees."""
