"""Scheduled check-ins by the HR point of contact, and the reminders that go with them."""
