-- POST a JSON body from the BODY environment variable to PATH_ (default /api/v1/reports).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
wrk.path = os.getenv("PATH_") or "/api/v1/reports"
