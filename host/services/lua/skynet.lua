-- The Lua service API: a subset of skynet's, with skynet's names and behaviour.
-- Every message runs in its own coroutine; skynet.call yields until the
-- response (or an error) comes back; skynet.ret answers the current request.

local c = require "skynet.core"
local seri = require "skynet.seri"

local coroutine_create = coroutine.create
local coroutine_resume = coroutine.resume
local coroutine_yield = coroutine.yield
local coroutine_running = coroutine.running

local skynet = {
	PTYPE_TEXT = 0, PTYPE_RESPONSE = 1, PTYPE_SYSTEM = 4, PTYPE_ERROR = 7, PTYPE_LUA = 10,
}

local proto = {}
local session_co = {}    -- session -> coroutine waiting for it
local co_request = {}    -- coroutine -> { session, source } of the request it serves
local wakeups = {}       -- timeout sessions whose coroutine is a skynet.timeout callback
local started = false    -- requests wait until the start function returned
local early = {}         -- requests that came before, as strings

skynet.pack = seri.pack
function skynet.unpack(msg, sz)
	if msg == nil then return end
	return seri.unpack(c.tostring(msg, sz))
end
skynet.tostring = c.tostring

function skynet.register_protocol(p)
	assert(type(p.name) == "string" and type(p.id) == "number", "protocol needs a name and an id")
	proto[p.name] = p
	proto[p.id] = p
end

skynet.register_protocol { name = "lua", id = skynet.PTYPE_LUA, pack = seri.pack, unpack = skynet.unpack }
skynet.register_protocol { name = "text", id = skynet.PTYPE_TEXT,
	pack = function(...) return table.concat({...}, " ") end,
	unpack = function(msg, sz) return c.tostring(msg, sz) end }
skynet.register_protocol { name = "response", id = skynet.PTYPE_RESPONSE }
skynet.register_protocol { name = "error", id = skynet.PTYPE_ERROR, unpack = function() end }

local function protocol(typename)
	local p = proto[typename]
	if not p then error("unknown protocol " .. tostring(typename), 3) end
	return p
end

local function new_co(f)
	return coroutine_create(function(...)
		f(...)
		return "END"
	end)
end

-- What a coroutine asked for when it yielded (or finished).
local function suspend(co, ok, cmd, session)
	if not ok then
		-- a request that failed answers an error, so its caller does not wait forever
		local req = co_request[co]
		co_request[co] = nil
		if req and req.session ~= 0 then
			c.send(req.source, skynet.PTYPE_ERROR, req.session, nil)
		end
		error(debug.traceback(co, tostring(cmd)), 0)
	end
	if cmd == "CALL" or cmd == "SLEEP" then
		session_co[session] = co
	elseif cmd == "END" then
		co_request[co] = nil
	elseif cmd == "EXIT" then
		co_request[co] = nil
	else
		co_request[co] = nil
		error("unknown yield " .. tostring(cmd) .. " (yield across skynet calls?)")
	end
end

local function resume(co, ...)
	return suspend(co, coroutine_resume(co, ...))
end

local function dispatch(ptype, msg, sz, session, source)
	if ptype == skynet.PTYPE_RESPONSE or ptype == skynet.PTYPE_ERROR then
		local co = session_co[session]
		if co == nil then return end   -- late or unknown response
		session_co[session] = nil
		if wakeups[session] then
			wakeups[session] = nil
			return resume(co)
		end
		return resume(co, ptype == skynet.PTYPE_RESPONSE, msg, sz)
	end
	if not started then
		early[#early + 1] = { ptype, c.tostring(msg, sz), session, source }
		return
	end
	local p = proto[ptype]
	if p == nil or p.dispatch == nil then
		if session ~= 0 then
			c.send(source, skynet.PTYPE_ERROR, session, nil)
		end
		c.error(string.format("unknown message type %d from :%08x", ptype, source))
		return
	end
	local co = new_co(p.dispatch)
	co_request[co] = { session = session, source = source }
	if p.unpack then
		return resume(co, session, source, p.unpack(msg, sz))
	end
	return resume(co, session, source, msg, sz)
end

function skynet.dispatch(typename, f)
	local p = protocol(typename)
	local old = p.dispatch
	p.dispatch = f
	return old
end

function skynet.send(addr, typename, ...)
	local p = protocol(typename)
	return c.send(addr, p.id, 0, p.pack(...))
end

function skynet.rawsend(addr, typename, msg, sz)
	return c.send(addr, protocol(typename).id, 0, msg, sz)
end

function skynet.call(addr, typename, ...)
	local p = protocol(typename)
	local session = c.send(addr, p.id, nil, p.pack(...))
	if not session then
		error(string.format("call to invalid address %s", tostring(addr)), 2)
	end
	local ok, msg, sz = coroutine_yield("CALL", session)
	if not ok then
		error(string.format("call to %s failed (service gone or error)", tostring(addr)), 2)
	end
	return p.unpack(msg, sz)
end

function skynet.ret(msg, sz)
	local req = co_request[coroutine_running()]
	if req == nil or req.session == 0 then
		return false   -- nobody waits for an answer
	end
	local ok = c.send(req.source, skynet.PTYPE_RESPONSE, req.session, msg, sz)
	req.session = 0
	return ok ~= false
end

function skynet.retpack(...)
	return skynet.ret(seri.pack(...))
end

function skynet.sleep(ti)
	local session = c.timeout(ti)
	wakeups[session] = true
	coroutine_yield("SLEEP", session)
end

function skynet.yield()
	return skynet.sleep(0)
end

function skynet.timeout(ti, f)
	local session = c.timeout(ti)
	wakeups[session] = true
	session_co[session] = new_co(f)
end

function skynet.fork(f, ...)
	local args = table.pack(...)
	skynet.timeout(0, function() f(table.unpack(args, 1, args.n)) end)
end

function skynet.error(...)
	local t = table.pack(...)
	for i = 1, t.n do t[i] = tostring(t[i]) end
	c.error(table.concat(t, " ", 1, t.n))
end

function skynet.self() return c.self() end
function skynet.now() return c.now() end
function skynet.time() return c.now() / 100 end
function skynet.address(h) return string.format(":%08x", h) end
function skynet.localname(name) return c.query(name) end
skynet.queryservice = skynet.localname

function skynet.register(name) c.register(name) end
function skynet.name(name, handle) c.register(name, handle) end

function skynet.launch(module, ...)
	return c.launch(module, table.concat({...}, " "))
end

function skynet.newservice(name, ...)
	local h = c.launch("snlua", table.concat({name, ...}, " "))
	if not h then error("newservice " .. tostring(name) .. " failed", 2) end
	return h
end

function skynet.kill(addr) return c.kill(addr) end

function skynet.exit()
	-- pending callers get an error rather than waiting forever
	for co, req in pairs(co_request) do
		if req.session ~= 0 and co ~= coroutine_running() then
			c.send(req.source, skynet.PTYPE_ERROR, req.session, nil)
		end
	end
	c.exit()
	coroutine_yield("EXIT")
end

-- Caps this service's memory: C bytes + Lua heap, in bytes (0 removes it).
function skynet.memlimit(bytes)
	return c.memlimit(bytes)
end

function skynet.start(f)
	c.callback(dispatch)
	skynet.timeout(0, function()
		local ok, err = xpcall(f, debug.traceback)
		if not ok then
			skynet.error("init failed: " .. tostring(err))
			skynet.exit()
		end
		started = true
		local queued = early
		early = nil
		for _, m in ipairs(queued) do
			local ok, e = pcall(dispatch, m[1], m[2], #m[2], m[3], m[4])
			if not ok then skynet.error(tostring(e)) end
		end
	end)
end

return skynet
