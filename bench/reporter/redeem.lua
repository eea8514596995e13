-- Redeem receipts in turn (one per line in the file RECEIPTS).
local receipts = {}
for line in io.lines(os.getenv("RECEIPTS")) do receipts[#receipts + 1] = line end
local i = 0
request = function()
  i = i % #receipts + 1
  return wrk.format("POST", "/api/v1/reporter/session", {["Content-Type"] = "application/json"},
    '{"receipt": "' .. receipts[i] .. '"}')
end
