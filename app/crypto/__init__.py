"""Encryption at rest: the key ring, envelope encryption, per-case data keys (case_keys), receipt codes."""
