-- wrk script for bench/pos_load.py: posts pre-generated sale bodies, each with its own
-- client_txn_id, for the till it belongs to. Arguments: <threads> <bodies.tsv> <keys.txt>.
-- Each load thread takes every <threads>-th line, so no body is sent twice.

local thread_count = 0
local all_threads = {}

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(all_threads, thread)
end

function init(args)
  local threads = tonumber(args[1])
  keys = {}
  for line in io.lines(args[3]) do
    if #line > 0 then table.insert(keys, line) end
  end
  bodies, owners = {}, {}
  local i = 0
  for line in io.lines(args[2]) do
    if i % threads == tid then
      local terminal, body = line:match("^(%d+)\t(.*)$")
      table.insert(owners, tonumber(terminal))
      table.insert(bodies, body)
    end
    i = i + 1
  end
  index = 0
  exhausted = 0
  statuses = {}
  codes = {}
end

function request()
  index = index + 1
  if index > #bodies then
    exhausted = exhausted + 1 -- ran out: further posts are replays (counted apart)
    index = 1
  end
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. keys[owners[index] + 1],
  }
  return wrk.format("POST", "/api/v1/pos/sales", headers, bodies[index])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 400 then
    local code = body:match('"code"%s*:%s*"([%w_]+)"') or tostring(status)
    codes[code] = (codes[code] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counts = {}
  local by_code = {}
  local ran_out = 0
  for _, thread in ipairs(all_threads) do
    local s = thread:get("statuses")
    for status, n in pairs(s) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + n
    end
    ran_out = ran_out + thread:get("exhausted")
    for code, n in pairs(thread:get("codes")) do
      by_code[code] = (by_code[code] or 0) + n
    end
  end
  local code_parts = {}
  for code, n in pairs(by_code) do
    table.insert(code_parts, string.format('"%s": %d', code, n))
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "statuses": {%s}, "codes": {%s}, "p50": %.0f, ' ..
    '"p95": %.0f, "p99": %.0f, "socket_errors": %d, "ran_out": %d, "generator": "wrk"}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), table.concat(code_parts, ", "),
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, ran_out))
end
