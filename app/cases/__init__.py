"""Cases: intake records, triage, HR point of contact, exclusions, notes, messages, closure, retention."""
