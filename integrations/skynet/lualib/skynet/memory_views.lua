-- skynet.memory_views: what the debug console's memory commands and the
-- memory_web service both need inside skynet: service names, snlua's own
-- count of each Lua heap, the records with their names, addresses parsed as
-- the project's host parses them. Installed by skynet-mem's apply.sh.
local skynet = require "skynet"
local memory = require "skynet.memory"

local views = {}

local HARBOR_SHIFT = 24
views.TIMEOUT = 300   -- centiseconds, as skynet's debug console

-- Raised errors carry the host console's text ("error: ...") with no position.
function views.fail(fmt, ...)
	error("error: " .. string.format(fmt, ...), 0)
end

function views.addr(h)
	return string.format(":%08x", h)
end

-- skynet's address forms: ":0100000a", "0100000a" or "a" (this node's harbor
-- added), ".name". The handle, or nil when malformed or an unknown name.
function views.parse(s)
	if s == nil or s == "" then
		return nil
	end
	if s:sub(1, 1) == "." then
		local h = skynet.localname(s)
		return h
	end
	local colon = s:sub(1, 1) == ":"
	local hex = colon and s:sub(2) or s
	if not hex:match("^%x+$") or #hex > 8 then
		return nil
	end
	local h = tonumber(hex, 16)
	if not colon and h ~= 0 and h < (1 << HARBOR_SHIFT) then
		h = h | (skynet.harbor(skynet.self()) << HARBOR_SHIFT)
	end
	return h
end

function views.need_handle(s)
	local h = views.parse(s)
	if h == nil then
		views.fail("bad address '%s' (want :0100000a, 0100000a or .name)", s or "")
	end
	return h
end

-- A count argument: def when absent, else an integer 1..max.
function views.count(s, def, max)
	if s == nil then
		return def
	end
	local n = s:match("^%d+$") and tonumber(s)
	if not n or n < 1 or n > max then
		views.fail("bad count '%s' (want 1..%d)", s, max)
	end
	return n
end

-- { [handle] = launch name } of the live services, from skynet's launcher.
function views.launched()
	local ok, list = pcall(skynet.call, ".launcher", "lua", "LIST")
	local names = {}
	if ok and type(list) == "table" then
		for a, name in pairs(list) do
			local h = tonumber(a:sub(2), 16)
			if h then
				names[h] = tostring(name)
			end
		end
	end
	return names
end

-- A record's name: the layer's own when it has one (memory.stat(h).name),
-- else the launcher's, else "host" for handle 0 and "" otherwise.
function views.name_of(st, launched)
	if st.name and st.name ~= "" then
		return st.name
	end
	local n = launched and launched[st.handle]
	if n then
		return n
	end
	if st.handle == 0 then
		return "host"
	end
	return st.retired and "(exited)" or ""
end

-- What each snlua service says of itself through skynet's debug protocol,
-- asked of all at once (only of handle `only` when given): snlua's own count
-- of its Lua heap (collectgarbage "count", what skynet's `mem` shows) in
-- bytes, and with stat, its mailbox length and messages handled. Services
-- that do not answer within ti centiseconds are left out.
-- { lua_mem = { [h] = bytes }, mailbox = { [h] = n }, messages = { [h] = n } }
function views.figures(launched, ti, only, stat)
	local req = skynet.request()
	local n = 0
	for h, name in pairs(launched) do
		if name:sub(1, 6) == "snlua " and (only == nil or only == h) then
			req:add({ h, "debug", "MEM" })
			if stat ~= false then
				req:add({ h, "debug", "STAT" })
			end
			n = n + 1
		end
	end
	local f = { lua_mem = {}, mailbox = {}, messages = {} }
	if n == 0 then
		return f
	end
	for r, resp in req:select(ti or views.TIMEOUT) do
		local v = resp and resp[1]
		if r[3] == "MEM" and type(v) == "number" then
			f.lua_mem[r[1]] = math.floor(v * 1024 + 0.5)
		elseif r[3] == "STAT" and type(v) == "table" then
			f.mailbox[r[1]] = math.tointeger(v.mqlen)
			f.messages[r[1]] = math.tointeger(v.message)
		end
	end
	return f
end

function views.lua_mem(launched, ti, only)
	return views.figures(launched, ti, only, false).lua_mem
end

-- Records worth showing: live ones, and exited ones still owning memory.
local function shown(st)
	return not st.retired or st.bytes ~= 0 or st.blocks ~= 0 or st.lua_bytes ~= 0
end

-- Every record shown, largest C + Lua first, each with .name.
function views.ranked(launched)
	local all = memory.top(math.maxinteger)
	local out = {}
	for _, st in ipairs(all) do
		if shown(st) then
			st.name = views.name_of(st, launched)
			out[#out + 1] = st
		end
	end
	return out
end

-- A name on one console line: valid UTF-8 (U+FFFD for bad bytes), control
-- characters (tabs, newlines) as '?', as the host's console shows names.
function views.line_name(s)
	return memory.utf8(s or "", "line")
end

return views
