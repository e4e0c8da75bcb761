-- count.lua: wrk script for a fixed number of requests over several paths.
--
--   wrk -t T -c C -d <ceiling> -H 'Authorization: ...' -s count.lua URL -- N PATH...
--
-- Each thread cycles through the PATHs (its first one offset by the thread's
-- number, so the threads do not move in step) and stops after N responses: T
-- threads make about T x N requests (a few more: the ones in flight).
-- Statuses other than 200 are counted and printed by done().

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   limit = tonumber(args[1])
   paths = {}
   for i = 2, #args do paths[#paths + 1] = args[i] end
   n = id
   seen = 0
   bad = 0
end

function request()
   n = n + 1
   return wrk.format(nil, paths[(n % #paths) + 1])
end

function response(status, headers, body)
   seen = seen + 1
   if status ~= 200 then bad = bad + 1 end
   if seen >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
   local s, b = 0, 0
   for _, t in ipairs(threads) do
      s = s + t:get("seen")
      b = b + t:get("bad")
   end
   io.write(string.format("count.lua: responses=%d not_200=%d\n", s, b))
end
