-- wrk script: POST the same signed GitHub push payload with a unique delivery id per request, so
-- every request is verified and is a new durable insert (none is deduplicated away).
local f = assert(io.open(os.getenv("HOOKD_BENCH_BODY"), "rb"))
local body = f:read("*a")
f:close()

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local counter = 0
function request()
  counter = counter + 1
  return wrk.format("POST", "/webhook/github", {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "push",
    ["X-Hub-Signature-256"] = os.getenv("HOOKD_BENCH_SIGNATURE"),
    ["X-GitHub-Delivery"] = string.format("bench-%s-%d-%d", os.getenv("HOOKD_BENCH_RUN"), tid, counter),
  }, body)
end
