-- wrk's side of scripts/load-vs-wrk (in a folder of its own: scripts/test
-- shellchecks every file directly under scripts/): GET /tasks/{id}, ids uniform in
-- 1..KEYS (the server's prefill), as `storelab load --mix read=100
-- --dist uniform --keys KEYS` sends them. The requests are formatted once,
-- at start (with wrk's Host header), so that wrk spends no Lua per request
-- beyond picking the next one: as many as there are keys (up to a million),
-- so that wrk's reads cover the prefill as `storelab load`'s do, not a
-- small set that would sit in the server's cache. Seeded: the same ids
-- every run.
local keys = tonumber(os.getenv("KEYS") or "100000")
local count = math.min(keys, 1000000)
local requests = {}
local next_one = 0

function init(args)
   math.randomseed(42)
   for k = 1, count do
      requests[k] = wrk.format("GET", "/tasks/" .. math.random(1, keys))
   end
end

function request()
   next_one = next_one % count + 1
   return requests[next_one]
end
