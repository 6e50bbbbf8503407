-- create.lua - wrk: POST /v4/iam/personal_tokens with the session token in
-- BENCH_SESSION and expires_at in BENCH_EXPIRES, counting the 201 answers
-- (each a durable create) and the others; done() prints
-- "created N other M".
local session = os.getenv("BENCH_SESSION")
local expires = os.getenv("BENCH_EXPIRES")

if session == nil or session == "" or expires == nil or expires == "" then
    error("create.lua: set BENCH_SESSION and BENCH_EXPIRES")
end
wrk.method = "POST"
wrk.path = "/v4/iam/personal_tokens"
wrk.headers["Authorization"] = "Bearer " .. session
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench create","expires_at":"' .. expires .. '"}'

local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
end

function init(args)
    created = 0
    other = 0
end

function response(status, headers, body)
    if status == 201 then
        created = created + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local c, o = 0, 0
    for _, t in ipairs(threads) do
        c = c + t:get("created")
        o = o + t:get("other")
    end
    io.write(string.format("created %d other %d\n", c, o))
end
