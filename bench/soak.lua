-- soak.lua - wrk: the write half of bench/soak. Each connection goes round
-- create -> list -> delete as fast as the server answers: POST
-- /v4/iam/personal_tokens, GET /v4/iam/personal_tokens, DELETE of a token
-- this thread created (a create instead when it holds none). The session
-- token is in SOAK_SESSION, expires_at in SOAK_EXPIRES.
--
-- Run it with one connection per thread (wrk -tN -cN): a thread then has one
-- request in flight at a time, so each answer is matched with the request it
-- answers, and its status checked against what that kind must get (201, 200,
-- 204). done() prints "soak create N list N delete N unexpected N" and the
-- first few unexpected answers.
local session = os.getenv("SOAK_SESSION")
local expires = os.getenv("SOAK_EXPIRES")

if session == nil or session == "" or expires == nil or expires == "" then
    error("soak.lua: set SOAK_SESSION and SOAK_EXPIRES")
end

local want = { create = 201, list = 200, delete = 204 }
local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
end

function init(args)
    create, list, delete, unexpected = 0, 0, 0, 0
    examples = ""
    ids = {}      -- tokens this thread created and has not deleted
    step = 0      -- 0 create, 1 list, 2 delete
    sent = nil    -- the kind of the request in flight
    n = 0
end

local function auth()
    return { ["Authorization"] = "Bearer " .. session }
end

function request()
    if step == 2 and #ids == 0 then
        step = 0
    end
    if step == 0 then
        sent = "create"
        n = n + 1
        local h = auth()
        h["Content-Type"] = "application/json"
        return wrk.format("POST", "/v4/iam/personal_tokens", h,
            '{"name":"soak ' .. n .. '","expires_at":"' .. expires .. '"}')
    elseif step == 1 then
        sent = "list"
        return wrk.format("GET", "/v4/iam/personal_tokens?page_size=20", auth())
    end
    sent = "delete"
    return wrk.format("DELETE", "/v4/iam/personal_tokens/" .. table.remove(ids), auth())
end

function response(status, headers, body)
    local kind = sent
    if kind == nil then
        return
    end
    sent = nil
    step = (step + 1) % 3
    if status ~= want[kind] then
        unexpected = unexpected + 1
        if #examples < 1000 then
            examples = examples .. string.format("  %s: %d %s\n", kind, status,
                string.sub(body or "", 1, 200))
        end
        return
    end
    if kind == "create" then
        create = create + 1
        local id = string.match(body, '"id":"([0-9a-f%-]+)"')
        if id then
            ids[#ids + 1] = id
        end
    elseif kind == "list" then
        list = list + 1
    else
        delete = delete + 1
    end
end

function done(summary, latency, requests)
    local c, l, d, u, ex = 0, 0, 0, 0, ""
    for _, t in ipairs(threads) do
        c = c + t:get("create")
        l = l + t:get("list")
        d = d + t:get("delete")
        u = u + t:get("unexpected")
        ex = ex .. t:get("examples")
    end
    io.write(string.format("soak create %d list %d delete %d unexpected %d\n", c, l, d, u))
    io.write(ex)
end
