"""The reporters' pages: `/`, `/report` and `/follow-up`."""
