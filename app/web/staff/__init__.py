"""The staff pages: sign-in and the dashboard."""
