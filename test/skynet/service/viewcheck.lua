-- viewcheck: the layer's commands in skynet's debug console (apply.sh adds
-- them), checked against skynet.memory's own figures: a keeper with known C
-- and Lua bytes ranks first in top, a killed leaker is in leaks, a limit set
-- through the console stops a hog's growth, bad input is refused with the
-- host console's errors. Prints "viewcheck: ok" or "viewcheck: FAIL ...".
local skynet = require "skynet"
local socket = require "skynet.socket"
local memory = require "skynet.memory"

local T = require "testlib"
local check, eq, poll = T.check, T.eq, T.poll

-- The service's record once two reads a round trip apart agree.
local function settled(h)
	local last
	return poll("the record of " .. skynet.address(h) .. " to settle", function()
		skynet.call(h, "lua", "count")
		skynet.sleep(0)
		local st = memory.stat(h)
		local same = last and st.bytes == last.bytes and st.blocks == last.blocks and st.lua_bytes == last.lua_bytes
		last = st
		return same and st
	end)
end

local port
local function open()
	return T.console_open(port)
end
local ask = T.console_ask

local console
local function cmd(line)
	return T.console_cmd(console, line)
end
local function refused(line, why)
	local out, how = ask(console, line)
	eq(how, "error", line .. " answered " .. table.concat(out, " / "))
	check(out[#out] and out[#out]:find(why, 1, true) == 1, string.format("%s said '%s', want '%s'", line,
		tostring(out[#out]), why))
end
-- "key<TAB>value" lines as a table
local function keyed(lines)
	local t = {}
	for _, l in ipairs(lines) do
		local k, v = l:match("^([^\t]+)\t(.*)$")
		if k then t[k] = v end
	end
	return t
end

local function case_top_stat(keeper)
	skynet.call(keeper, "lua", "keep", 1000)
	skynet.call(keeper, "lua", "grow", 20000)
	local st = settled(keeper)
	local a = skynet.address(keeper)
	local top = cmd "top 5"
	eq(#top, 5, "top 5 lines")
	-- first among services: skynet's own threads (the socket thread's slot
	-- array, ...) are records too, at :ff000000 and up
	local first
	for _, l in ipairs(top) do
		local x = tonumber(l:match("^:(%x+)\t"), 16)
		if x and x < 0xff000000 then first = l break end
	end
	local h, name, total, c, lua, peak, mem = tostring(first):match("^(:%x+)\t([^\t]*)\ttotal:(%d+)\tC:(%d+)\tLua:(%d+)\tpeak:(%d+)\tmem:(%d+)$")
	eq(h, a, "the keeper ranks first among services in top: " .. table.concat(top, " / "))
	eq(name, "snlua keeper", "its name in top")
	eq(tonumber(c), st.bytes, "top's C bytes")
	eq(tonumber(lua), st.lua_bytes, "top's Lua bytes (the allocator's charge)")
	eq(tonumber(total), st.bytes + st.lua_bytes, "top's total")
	local own = skynet.call(keeper, "lua", "count")
	check(math.abs(tonumber(mem) - own) < 64 * 1024, string.format("top's mem %s is snlua's count %d", mem, own))
	check(tonumber(mem) < tonumber(lua), "snlua's count is below the allocator's charge")
	st = settled(keeper)   -- top asked the keeper for its count: a message, some garbage
	local t = keyed(cmd("stat " .. a))
	eq(t.handle, a, "stat handle")
	eq(t.state, "live", "stat state")
	eq(tonumber(t.bytes), st.bytes, "stat bytes")
	eq(tonumber(t.blocks), st.blocks, "stat blocks")
	eq(tonumber(t.lua_bytes), st.lua_bytes, "stat lua_bytes")
	check(tonumber(t.mem) and tonumber(t.mem) < st.lua_bytes, "stat mem (snlua's count) below lua_bytes: " .. tostring(t.mem))
	st = settled(keeper)
	local i = keyed(cmd("info " .. a))
	eq(tonumber(i.bytes), st.bytes, "info bytes")
	check(i.mem, "info names snlua's count")
	-- skynet's own stat and mem still answer
	check(keyed(cmd "stat")[a], "skynet's stat lists the keeper")
	check(keyed(cmd "mem")[a], "skynet's mem lists the keeper")
	print(string.format("viewcheck: top ranks %s first: C %d, Lua %d (snlua counts %s)", a, st.bytes, st.lua_bytes, mem))
end

local function case_leaks()
	local leaker = skynet.newservice("keeper")
	skynet.call(leaker, "lua", "keep", 10)
	local a = skynet.address(leaker)
	cmd("kill " .. a)
	local line = poll("the leaker in leaks", function()
		for _, l in ipairs(cmd "leaks") do
			if l:find(a .. "\t", 1, true) == 1 then return l end
		end
	end)
	-- the record keeps its name after the exit; the 10 blocks kept, exactly
	-- (messages are charged to their receiver: none in flight is the leaker's)
	local name, blocks = line:match("^:%x+\t([^\t]*)\t%d+ bytes in (%d+) blocks$")
	eq(name, "snlua keeper", "the leaker's name in leaks: " .. line)
	eq(tonumber(blocks), 10, "the leak line counts the 10 blocks kept: " .. line)
	local out = cmd "leaks"
	check(out[#out]:match("^leaks\t%d+$"), "leaks ends with its count: " .. out[#out])
	local t = keyed(cmd("stat " .. a))
	eq(t.state, "exited", "stat of the killed leaker")
	check(cmd("top 1000")[1], "top answers")
	local found
	for _, l in ipairs(cmd "top 1000") do
		if l:find(a .. "\t", 1, true) == 1 then found = l end
	end
	check(found and found:match("\texited$"), "top lists the leaker, exited: " .. tostring(found))
	print("viewcheck: leaks lists " .. line)
end

local function case_limit(hog)
	local a = skynet.address(hog)
	skynet.call(hog, "lua", "fill", 100)
	local st = settled(hog)
	local limit = st.bytes + st.lua_bytes + 512 * 1024
	eq(cmd(string.format("setlimit %s %d", a, limit))[1], a .. "\t0", "setlimit answers the old limit")
	local ok, err = skynet.call(hog, "lua", "fill", 4096)   -- 4 MiB past a 512 KiB margin
	check(not ok and tostring(err):find("not enough memory", 1, true), "the hog's growth fails at its limit: " .. tostring(err))
	local t = keyed(cmd("stat " .. a))
	eq(tonumber(t.limit), limit, "stat shows the limit")
	local used = tonumber(t.bytes) + tonumber(t.lua_bytes)
	check(used <= limit and used > limit * 0.9, string.format("the hog is at its limit: %d of %d", used, limit))
	print(string.format("viewcheck: limit hit: %s uses %d of its %d, growth refused (%s)", a, used, limit, err))
	eq(cmd(string.format("setlimit %s 0", a))[1], a .. "\t" .. limit, "setlimit 0 answers the limit removed")
end

local function case_refused(keeper)
	local a = skynet.address(keeper)
	refused("setlimit :0 1", "error: handle 0 is the host's own threads, not a service: no limit")
	refused("setlimit :7fffff00 1", "error: no service :7fffff00: no limit set")
	refused("setlimit " .. a .. " lots", "error: bad limit 'lots'")
	refused("setlimit " .. a, "error: bad limit ''")
	refused("top zero", "error: bad count 'zero'")
	refused("top 0", "error: bad count '0'")
	refused("grow 1 many", "error: bad count 'many'")
	refused("stat :7fffff00", "error: no service :7fffff00")
	refused("stat zz", "error: bad address 'zz'")
	refused("info :0", "error: handle 0 is the host's own threads")
	if memory.check then
		check(cmd("check")[1]:match("^%d+ damaged blocks$"), "check answers")
	else
		refused("check", "error: not a MEMORY_CHECK build")
	end
	local help = keyed(cmd "help")
	for _, c in ipairs { "top", "leaks", "grow", "setlimit", "check", "stat", "info", "mem", "list" } do
		check(help[c], "help lists " .. c)
	end
end

-- grow waits its window on one connection while another is answered.
local function case_grow(keeper)
	local a = skynet.address(keeper)
	-- its old garbage must not be collected in the window: a full collection
	-- first (debug GC does not answer; the count after it comes after it)
	skynet.send(keeper, "debug", "GC")
	skynet.call(keeper, "lua", "count")
	local other = open()
	local answer
	skynet.fork(function()
		answer = ask(other, "grow 1 3")
	end)
	skynet.sleep(10)
	skynet.call(keeper, "lua", "grow", 5000)   -- 0.5 MB inside the window
	check(#cmd "list" > 0, "the console answers while grow waits")
	poll("grow's answer", function() return answer end, 5)
	check(answer[1]:find(a .. "\t", 1, true) == 1, "the keeper grew most: " .. table.concat(answer, " / "))
	local g = tonumber(answer[1]:match("\tgrowth:%+(%d+)\t"))
	check(g and g >= 500000, "its growth: " .. answer[1])
	check(answer[#answer]:match("^window\t1%.%ds$"), "grow's window: " .. answer[#answer])
	socket.close(other)
	print("viewcheck: grow: " .. answer[1])
end

-- heap: the sampled heap profile of a service holding memory; with a path,
-- the file jeprof reads. The check build samples nothing and says so.
local function case_heap(keeper)
	local a = skynet.address(keeper)
	if memory.check then
		refused("heap " .. a, "error: the MEMORY_CHECK build samples nothing")
		return
	end
	local out = cmd("heap " .. a)
	check(out[1]:match("^" .. a .. "\tblocks:%d+\testimate:%d+\tsample:%d+$"), "heap's first line: " .. out[1])
	local path = os.tmpname()
	out = cmd("heap " .. a .. " " .. path)
	check(out[#out]:match("^profile\t"), "heap with a path says where: " .. out[#out])
	local f = assert(io.open(path))
	local first = f:read("l")
	f:close()
	os.remove(path)
	check(first and first:match("^heap profile:"), "the file is a heap profile: " .. tostring(first))
	check(cmd("heap all")[1]:match("^all\tblocks:"), "heap all answers")
	refused("heap nonsense", "error: ")
	print("viewcheck: heap: " .. out[1])
end

T.start("viewcheck", function()
	port = T.console_start()
	console = open()
	local keeper = skynet.newservice("keeper")
	local hog = skynet.newservice("hog")
	case_refused(keeper)
	case_top_stat(keeper)
	case_heap(keeper)
	case_grow(keeper)
	case_leaks()
	case_limit(hog)
end)
