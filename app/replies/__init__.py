"""Reply templates: the safeguarding team's reusable openings for a message to a reporter."""
