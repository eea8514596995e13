-- GET with a bogus bearer token; counts answers by status class across wrk's threads and prints
-- one parseable line, so a run full of 5xx is never reported as fast.
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) c2, c4, c5, cx = 0, 0, 0, 0 end
request = function()
  return wrk.format("GET", os.getenv("PATH_"), {["Authorization"] = "Bearer ssr_bogus" .. string.rep("x", 40)})
end
response = function(status, headers, body)
  if status >= 500 then c5 = c5 + 1 elseif status >= 400 then c4 = c4 + 1 elseif status >= 200 and status < 300 then c2 = c2 + 1 else cx = cx + 1 end
end
done = function(summary, latency, requests)
  local t2, t4, t5, tx = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t2 = t2 + t:get("c2"); t4 = t4 + t:get("c4"); t5 = t5 + t:get("c5"); tx = tx + t:get("cx")
  end
  io.write(string.format("STATS requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d s2xx=%d s4xx=%d s5xx=%d other=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, t2, t4, t5, tx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
