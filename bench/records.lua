-- wrk script for bench/records.sh: every request carries the bearer token of a synthetic person.
--
--   wrk -t 2 -c 64 -d 30s -s bench/records.lua http://127.0.0.1:18080 -- TOKENS_FILE PATH THREADS
--
-- TOKENS_FILE holds one access token per line (`shebao bench tokens`). Thread i (of THREADS) takes
-- the tokens i, i + THREADS, i + 2 × THREADS, … and rotates through them request by request.
-- wrk's Lua API has no per-connection hook, so a token is not pinned to one connection; with as
-- many tokens as connections each thread's in-flight requests still belong to (nearly always)
-- different persons, and every person gets the same share of the load.

local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_id", thread_count)
end

local requests = {}
local next_request = 1

function init(args)
   local file, path, threads = args[1], args[2], tonumber(args[3])
   if not file or not path or not threads then
      error("usage: wrk ... -s records.lua URL -- TOKENS_FILE PATH THREADS")
   end
   local tokens = {}
   for line in io.lines(file) do
      if #line > 0 then
         tokens[#tokens + 1] = line
      end
   end
   for i = thread_id, #tokens, threads do
      requests[#requests + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tokens[i] })
   end
   if #requests == 0 then
      error("thread " .. thread_id .. " got no token from " .. file)
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
