"""Encryption at rest: the key ring, envelope encryption with per-case data keys, receipt codes."""
