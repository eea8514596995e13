-- Appended to every scenario: report counts and percentiles in one parseable line, including
-- non-2xx answers, so a run full of errors is never reported as fast.
done = function(summary, latency, requests)
  io.write(string.format("STATS requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
