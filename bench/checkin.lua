-- wrk script for the write-path benchmark: PUT one check-in per request, each with a fresh
-- random UUID, sending the session cookie and the CSRF header like the web app does.
-- The same script drives the real app and the bare endpoint, so both see identical requests.
-- Environment: BENCH_PREFIX (path before the UUID), BENCH_CSRF, BENCH_RECORDED_AT, and either
-- BENCH_COOKIE (one signed-in patient) or BENCH_SESSIONS: a file of Cookie header values, one
-- per line, one per patient; each request then picks one at random, as many phones would.

local prefix = os.getenv("BENCH_PREFIX") or "/api/v1/checkins/"
local headers = {
  ["Content-Type"] = "application/json",
  ["Cookie"] = os.getenv("BENCH_COOKIE") or "",
  ["X-CSRF-Token"] = os.getenv("BENCH_CSRF") or "",
}
local body = string.format(
  '{"recorded_at": "%s", "mood": 6, "side_effects": [{"code": "nausea", "severity": 1}], '
    .. '"note": "Felt steadier after the second session; a little queasy in the morning."}',
  os.getenv("BENCH_RECORDED_AT") or "2025-01-01T08:00:00-05:00"
)

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local cookies = {}
function init(args)
  math.randomseed(os.time() * 7919 + (id or 0) * 104729 + math.floor(os.clock() * 1e6))
  local path = os.getenv("BENCH_SESSIONS")
  if path and path ~= "" then
    for line in io.lines(path) do
      if line ~= "" then cookies[#cookies + 1] = line end
    end
  end
end

local random, format = math.random, string.format
local function uuid4()
  return format(
    "%08x-%04x-4%03x-%x%03x-%06x%06x",
    random(0, 0x7fffffff) * 2 + random(0, 1),
    random(0, 0xffff),
    random(0, 0xfff),
    random(8, 0xb),
    random(0, 0xfff),
    random(0, 0xffffff),
    random(0, 0xffffff)
  )
end

function request()
  if #cookies > 0 then
    headers["Cookie"] = cookies[random(#cookies)]
  end
  return wrk.format("PUT", prefix .. uuid4(), headers, body)
end

-- One machine-readable line for bench/write_path.py (times in microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "timeouts": %d, "bad_status": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
