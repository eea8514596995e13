"""Request plumbing beneath both interfaces (app.api and app.web): what the application holds, the
transaction per request, cookies, who is asking and what they may do, sign-in, and the reporter's
requests. Pages and API routes are two doors onto the same functions here and in the domains."""
