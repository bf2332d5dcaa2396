-- Replays one signed request (args: method, path, body, then "Name: value" headers) and prints a JSON summary.
-- A "{token}" in the body becomes a per-request unique suffix, so every CreateImageVersion has its own ClientToken.
local threads = {}
local counter = 0
local template, fixed

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  wrk.method, wrk.path, wrk.body = args[1], args[2], args[3]
  for i = 4, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
  if wrk.body:find("{token}", 1, true) then
    template = wrk.body
  end
  fixed = wrk.format()
end

function request()
  if not template then
    return fixed
  end
  counter = counter + 1
  return wrk.format(nil, nil, nil, (template:gsub("{token}", id .. "-" .. counter)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
