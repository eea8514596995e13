"""The case and everything that is the case's: intake, visibility, triage, HR contact, exclusions, notes, the thread, feedback, closure."""
