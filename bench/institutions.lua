-- wrk script for bench/institutions.sh: GET requests over a list of paths (query points), each
-- thread rotating through its share; with a tokens file, every request also carries the bearer
-- token of a synthetic person (so `covered` is computed), rotating separately.
--
--   wrk -t 2 -c 64 -d 30s -s bench/institutions.lua http://127.0.0.1:18090 -- PATHS_FILE THREADS [TOKENS_FILE]
--
-- PATHS_FILE holds one path per line (`/v1/institutions?lat=…&lon=…`). Thread i (of THREADS)
-- takes the lines i, i + THREADS, … of each file.

local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_id", thread_count)
end

local requests = {}
local next_request = 1

local function lines(file, threads)
   local out = {}
   local i = 0
   for line in io.lines(file) do
      if #line > 0 then
         i = i + 1
         if (i - thread_id) % threads == 0 then
            out[#out + 1] = line
         end
      end
   end
   return out
end

function init(args)
   local paths_file, threads, tokens_file = args[1], tonumber(args[2]), args[3]
   if not paths_file or not threads then
      error("usage: wrk ... -s institutions.lua URL -- PATHS_FILE THREADS [TOKENS_FILE]")
   end
   local paths = lines(paths_file, threads)
   if #paths == 0 then
      -- Fewer paths than threads (one path for everybody): each thread takes them all.
      paths = lines(paths_file, 1)
   end
   local tokens = tokens_file and lines(tokens_file, threads) or {}
   if #paths == 0 then
      error("thread " .. thread_id .. " got no path from " .. paths_file)
   end
   -- As many requests as the longer list, pairing path i with token i (both rotating).
   local n = math.max(#paths, #tokens)
   for i = 1, n do
      local headers = {}
      if #tokens > 0 then
         headers["Authorization"] = "Bearer " .. tokens[(i - 1) % #tokens + 1]
      end
      requests[#requests + 1] = wrk.format("GET", paths[(i - 1) % #paths + 1], headers)
   end
   next_request = 1
end

function request()
   local r = requests[next_request]
   next_request = next_request % #requests + 1
   return r
end

-- One machine-readable line for the script (latency in microseconds in wrk's tables).
function done(summary, latency)
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
      "mean_ms=%.2f bytes=%d non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, latency.mean / 1000, summary.bytes,
      summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.timeout))
end
