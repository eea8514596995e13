"""E-mail notifications through an outbox: written in the event's transaction, sent by `safeshare deliver`."""
