-- spread.lua - wrk: GET /v4/auth/verify with "Authorization: Bearer <secret>",
-- the secrets taken in turn from the file named by BENCH_SECRETS (one a line),
-- so that the load spreads over all of them. The same script drives nginx and
-- the bare libmicrohttpd handler, which ignore the header. BENCH_PATH, when
-- set, is the path asked for instead, with its query (/v4/auth/verify?scope=x).
--   BENCH_SECRETS=secrets.txt wrk -t1 -c64 -d10s --latency -s spread.lua http://HOST:PORT
local requests = {}
local next_one = 1

-- The requests are built in init(): wrk sets the Host header only then.
function init(args)
    local path = os.getenv("BENCH_SECRETS")
    if path == nil or path == "" then
        error("spread.lua: set BENCH_SECRETS to a file of secrets, one a line")
    end
    local target = os.getenv("BENCH_PATH")
    if target == nil or target == "" then
        target = "/v4/auth/verify"
    end
    local file = assert(io.open(path, "r"))
    for secret in file:lines() do
        if secret ~= "" then
            requests[#requests + 1] =
                wrk.format("GET", target, { ["Authorization"] = "Bearer " .. secret })
        end
    end
    file:close()
    if #requests == 0 then
        error("spread.lua: no secret in " .. path)
    end
    -- Each wrk thread starts at its own place, then takes them in turn.
    next_one = math.random(#requests)
end

function request()
    local r = requests[next_one]
    next_one = next_one + 1
    if next_one > #requests then
        next_one = 1
    end
    return r
end
