-- wrk script: POST the JSON body in $BODY_FILE with the bearer token in $TOKEN.
-- Every "@@UNIQUE@@" in the body is replaced, request by request, by a value no other request
-- shares ($RUN, then the thread and a counter), so each request submits new demands: a body
-- sent again would be a repeat of the first (refused, or replayed with an idempotency key).
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
local body = f:read("*a")
f:close()
local headers = {["Content-Type"] = "application/json"}
local token = os.getenv("TOKEN")
if token and #token > 0 then
  headers["Authorization"] = "Bearer " .. token
end
local run = os.getenv("RUN") or "0"
local unique = string.find(body, "@@UNIQUE@@", 1, true) ~= nil

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
function request()
  if not unique then
    return wrk.format("POST", nil, headers, body)
  end
  counter = counter + 1
  local value = run .. "-" .. id .. "-" .. counter
  return wrk.format("POST", nil, headers, (string.gsub(body, "@@UNIQUE@@", value)))
end
