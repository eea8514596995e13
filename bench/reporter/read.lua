-- Read the reporter's case with tokens in turn (one per line in the file TOKENS).
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/api/v1/reporter/case", {["Authorization"] = "Bearer " .. tokens[i]})
end
