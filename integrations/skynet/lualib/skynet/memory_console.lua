-- skynet.memory_console: the layer's commands in skynet's debug console.
-- apply.sh adds one line at the end of skynet's service/debug_console.lua:
--   require "skynet.memory_console"(COMMAND)
-- Each entry of `commands` below becomes COMMAND[name]; its answer follows
-- skynet's shapes (a table: "key<TAB>value" lines sorted by key; a string:
-- printed as is; then <CMD OK>), and bad input raises the host console's
-- error text ("error: ...", then <CMD Error>). Another command is one more
-- entry: { help = "...", run = function(...) end }, and, when it wraps one of
-- skynet's own commands, skynet = the original (passed as the first argument).
local skynet = require "skynet"
local memory = require "skynet.memory"
local views = require "skynet.memory_views"

local fail, addr, name_line = views.fail, views.addr, views.line_name

-- A record as key/value lines: both Lua figures named, bytes exact.
local function record(st, state, mem)
	local t = {
		handle = addr(st.handle),
		name = name_line(st.name),
		state = state,
		bytes = st.bytes,
		blocks = st.blocks,
		lua_bytes = st.lua_bytes,   -- the allocator's charge (size classes)
		peak = st.peak,
		limit = st.limit,
		allocs = st.allocs,
		frees = st.frees,
	}
	if mem then
		t.mem = mem   -- snlua's own count (collectgarbage), what skynet's `mem` shows
	end
	return t
end

local function stat_one(arg)
	local h = views.need_handle(arg)
	local st = memory.stat(h)
	if st == nil then
		fail("no service %s (never seen, or exited and its record reclaimed)", addr(h))
	end
	local launched = views.launched()
	st.name = views.name_of(st, launched)
	local mem = not st.retired and views.lua_mem(launched, views.TIMEOUT, h)[h] or nil
	return record(st, st.retired and "exited" or "live", mem)
end

local function live(arg)
	local h = views.need_handle(arg)
	if h == 0 then
		fail("handle 0 is the host's own threads, not a service")
	end
	local st = memory.stat(h)
	if st == nil or st.retired then
		fail("no service %s", addr(h))
	end
	return h
end

local commands = {}

commands.top = {
	help = "top [n] : the n services using most memory (C + Lua), exited ones included",
	run = function(n)
		n = views.count(n, 10, 1000000)
		local launched = views.launched()
		local rows = views.ranked(launched)
		local mem = views.lua_mem(launched)
		local out = {}
		for i = 1, math.min(n, #rows) do
			local st = rows[i]
			out[i] = string.format("%s\t%s\ttotal:%d\tC:%d\tLua:%d\tpeak:%d%s%s", addr(st.handle),
				name_line(st.name), st.total, st.bytes, st.lua_bytes, st.peak,
				mem[st.handle] and ("\tmem:" .. mem[st.handle]) or "", st.retired and "\texited" or "")
		end
		return table.concat(out, "\n")
	end,
}

commands.leaks = {
	help = "leaks : exited services that left memory behind",
	run = function()
		local launched = views.launched()
		local rows = {}
		for _, st in ipairs(views.ranked(launched)) do
			if st.retired and (st.bytes ~= 0 or st.blocks ~= 0) then
				rows[#rows + 1] = st
			end
		end
		table.sort(rows, function(a, b) return a.handle > b.handle end)   -- newest first
		local out = {}
		for i = math.min(#rows, 256), 1, -1 do   -- the last 256, oldest first
			local st = rows[i]
			out[#out + 1] = string.format("%s\t%s\t%d bytes in %d blocks", addr(st.handle),
				name_line(st.name), st.bytes, st.blocks)
		end
		out[#out + 1] = string.format("leaks\t%d", math.min(#rows, 256))
		return table.concat(out, "\n")
	end,
}

commands.grow = {
	help = "grow [seconds] [n] : the n services that grew most over the window (5 s, 10)",
	run = function(secs, n)
		secs = views.count(secs, 5, 3600)
		n = views.count(n, 10, 1000000)
		local a = memory.snapshot()
		skynet.sleep(secs * 100)   -- this client waits; the console serves others
		local b = memory.snapshot()
		local d, window = memory.diff(a, b, n)
		local launched = views.launched()
		local out = {}
		for i, c in ipairs(d) do
			local st = memory.stat(c.handle) or { handle = c.handle, retired = true }
			out[i] = string.format("%s\t%s\tgrowth:%+d\tC:%+d\tLua:%+d\ttotal:%d", addr(c.handle),
				name_line(views.name_of(st, launched)), c.delta, c.bytes, c.lua_bytes, c.total)
		end
		out[#out + 1] = string.format("window\t%.1fs", window)
		return table.concat(out, "\n")
	end,
}

commands.stat = {
	help = "stat : cpu, messages and mailbox per service; stat address : one memory record, exited too",
	skynet = true,
	run = function(orig, arg, ...)
		-- skynet's own `stat [timeout]` (a decimal count) stays skynet's
		if arg == nil or (arg:match("^%d+$") and arg:sub(1, 1) ~= "0") then
			return orig(arg, ...)
		end
		return stat_one(arg)
	end,
}

commands.info = {
	help = "info address : the service's own info and its memory record",
	skynet = true,
	run = function(orig, arg, ...)
		live(arg)
		local t = stat_one(arg)
		local ok, own = pcall(orig, arg, ...)
		if ok and type(own) == "table" then
			for k, v in pairs(own) do
				t["info." .. tostring(k)] = v
			end
		elseif ok and own ~= nil then
			t.info = tostring(own)
		end
		return t
	end,
}

commands.setlimit = {
	help = "setlimit address bytes : limit on C + Lua bytes (0 removes it)",
	run = function(arg, bytes)
		local h = views.need_handle(arg)
		local n = bytes and bytes:match("^%d+$") and math.tointeger(tonumber(bytes))
		if not n then
			fail("bad limit '%s' (want bytes >= 0; 0 removes it)", bytes or "")
		end
		local ok, old = pcall(memory.setlimit, h, n)
		if not ok then
			if h == 0 then
				fail("handle 0 is the host's own threads, not a service: no limit")
			end
			fail("no service %s: no limit set", addr(h))
		end
		return string.format("%s\t%d", addr(h), old)
	end,
}

commands.heap = {
	help = "heap address|all [path] : sampled heap profile: estimated bytes, top allocation sites; with a path, the file jeprof/google-pprof read",
	run = function(arg, path)
		if memory.check then
			fail("the MEMORY_CHECK build samples nothing (its leak lists name every block's site)")
		end
		local h = arg == "all" and "all" or views.need_handle(arg)
		local text = memory.profile(h)
		local blocks, bytes = text:match("^heap profile: *(%d+): *(%d+)")
		local out = { string.format("%s\tblocks:%s\testimate:%s\tsample:%d", h == "all" and "all" or addr(h),
			blocks or "0", bytes or "0", memory.profile_sample()) }
		if h ~= "all" then
			local sites = memory.profile_sites(h, 10)
			for site in sites:gmatch("[^,]+") do
				out[#out + 1] = "site\t" .. site:gsub("^ ", ""):gsub(" ~", "\t~")
			end
		end
		if path then
			local ok, err = memory.profile(h, path)
			if not ok then
				fail("cannot write %s", err)
			end
			out[#out + 1] = string.format("profile\t%s (jeprof --text ./skynet %s)", path, path)
		end
		return table.concat(out, "\n")
	end,
}

commands.check = {
	help = "check : MEMORY_CHECK: verify every live block now (reports on stderr)",
	run = function()
		if not memory.check then
			fail("not a MEMORY_CHECK build (SKYNET_MEM_CHECK=ON)")
		end
		return string.format("%d damaged blocks", memory.checkall())
	end,
}

-- Installs every command into skynet's COMMAND table (and its help).
return function(COMMAND)
	local help = COMMAND.help
	for name, c in pairs(commands) do
		local orig = COMMAND[name]
		if c.skynet then
			assert(orig, "skynet's debug console has no " .. name)
			COMMAND[name] = function(...) return c.run(orig, ...) end
		else
			COMMAND[name] = c.run
		end
	end
	COMMAND.help = function(...)
		local t = help(...)
		for name, c in pairs(commands) do
			t[name] = c.help
		end
		return t
	end
	return commands
end
