-- GET one path (PATH_) as a signed-in staff user: the sign-in cookie for pages, or the bearer
-- token for the API (KIND=page|api), with the staff token in TOKEN.
local path = os.getenv("PATH_")
local headers = {}
if os.getenv("KIND") == "page" then
  headers["Cookie"] = "ss_staff=" .. os.getenv("TOKEN")
else
  headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end
request = function()
  return wrk.format("GET", path, headers)
end
