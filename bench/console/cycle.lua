-- GET the paths in PATHS (comma-separated) in turn, with the staff bearer token in TOKEN: the
-- API reads a client makes to show what one console page shows.
local paths = {}
for p in string.gmatch(os.getenv("PATHS"), "[^,]+") do paths[#paths + 1] = p end
local headers = {["Authorization"] = "Bearer " .. os.getenv("TOKEN")}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
