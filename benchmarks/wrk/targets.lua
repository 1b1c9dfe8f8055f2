-- wrk script: cycle through the requests of a targets file, check each status,
-- and print the results as one JSON line (prefixed "WRKJSON ") at the end.
--
--   wrk -t2 -c8 -d20s --latency -s benchmarks/wrk/targets.lua http://127.0.0.1:PORT -- TARGETS STATUS
--
-- TARGETS has one request per line, tab-separated: METHOD, PATH, COOKIE, BODY
-- (BODY url-encoded, may be empty). STATUS is the status every answer must have
-- (200 for pages, 303 for a sign-in); any other answer is counted as "unexpected",
-- so a page that silently redirects to the sign-in form cannot pass for a fast page.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local requests_list = {}
local position = 0
local expected = 200
unexpected = 0
first_unexpected = ""

function init(args)
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      local method, path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
      if method then
         local headers = {}
         if cookie ~= "" then headers["Cookie"] = cookie end
         if body == "" then
            body = nil
         else
            headers["Content-Type"] = "application/x-www-form-urlencoded"
         end
         table.insert(requests_list, wrk.format(method, path, headers, body))
      end
   end
   file:close()
   expected = tonumber(args[2] or "200")
   -- Threads start at different places of the list, so they do not move in step.
   position = (id * 7919) % #requests_list
end

function request()
   position = position % #requests_list + 1
   return requests_list[position]
end

function response(status, headers, body)
   if status ~= expected then
      unexpected = unexpected + 1
      if first_unexpected == "" then
         first_unexpected = tostring(status) .. " " .. (headers["Location"] or "")
      end
   end
end

function done(summary, latency, requests)
   local bad, first = 0, ""
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("unexpected")
      if first == "" then first = thread:get("first_unexpected") end
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"unexpected": %d, "first_unexpected": "%s", ' ..
      '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      bad, (first:gsub('"', "'")),
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), latency.max))
end
