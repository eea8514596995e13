"""Request plumbing beneath both interfaces (app.api and app.web): two doors onto the same functions."""
