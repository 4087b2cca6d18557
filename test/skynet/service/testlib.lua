-- testlib: what the flow, churn and limits runs share: failing with a
-- traceback, polling with a deadline, the logger's text, settled records;
-- and skynet's debug console, for the runs that drive it.
local skynet = require "skynet"
local memory = require "skynet.memory"

local T = { FAILED = {} }

function T.start(name, body)
	T.name = name
	skynet.start(function()
		local ok, err = pcall(body)
		if ok then
			print(name .. ": ok")
		elseif err ~= T.FAILED then
			print(name .. ": FAIL " .. tostring(err))
		end
	end)
end

function T.fail(msg)
	print(T.name .. ": FAIL " .. msg .. "\n" .. debug.traceback())
	error(T.FAILED)
end
function T.check(cond, msg)
	if not cond then T.fail(msg) end
end
function T.eq(got, want, msg)
	if got ~= want then
		T.fail(string.format("%s: got %s, want %s", msg, tostring(got), tostring(want)))
	end
end

local LOG = assert(skynet.getenv "logger", "config: logger (a file) missing")
function T.log_text()
	local f = assert(io.open(LOG, "r"))
	local s = f:read "a"
	f:close()
	return s
end

-- Occurrences of plain text in text.
function T.count(text, plain)
	local n, at = 0, 1
	while true do
		local i, j = text:find(plain, at, true)
		if not i then return n end
		n, at = n + 1, j + 1
	end
end

-- Polls fn until it returns a value, for at most `seconds`.
function T.poll(what, fn, seconds)
	local deadline = skynet.now() + (seconds or 10) * 100
	while true do
		local v = fn()
		if v then return v end
		if skynet.now() > deadline then T.fail("timed out waiting for " .. what) end
		skynet.sleep(1)
	end
end

-- h's record once two reads a round trip apart agree (its worker may still
-- be finishing the dispatch that answered): h answers "count".
function T.settled(h)
	local deadline = skynet.now() + 1000
	local last
	while true do
		skynet.call(h, "lua", "count")
		skynet.sleep(0)
		local st = memory.stat(h)
		if last and st.blocks == last.blocks and st.bytes == last.bytes then
			return st
		end
		if skynet.now() > deadline then T.fail("the record of " .. skynet.address(h) .. " never settled") end
		last = st
	end
end

-- The logger's line for a service that exited holding memory.
function T.report_of(h)
	return string.format("skynet-mem: service %s exited holding", skynet.address(h))
end

-- Waits until h's record is retired (or reclaimed: nothing left).
function T.retired(h)
	T.poll("the record of " .. skynet.address(h) .. " retired", function()
		local st = memory.stat(h)
		return st == nil or st.retired
	end)
end

-- Starts skynet's debug console on loopback, at a port the system picks;
-- that port, read from the log.
function T.console_start()
	skynet.newservice("debug_console", "127.0.0.1", 0)
	return tonumber(T.poll("the console's port", function()
		return T.log_text():match("Start debug console at 127%.0%.0%.1:(%d+)")
	end))
end

-- A new connection to the console at port, its greeting read.
function T.console_open(port)
	local socket = require "skynet.socket"   -- here: most runs use no socket
	local fd = assert(socket.open("127.0.0.1", port), "connect to the console")
	T.eq(socket.readline(fd, "\n"), "Welcome to skynet console", "console greeting")
	return fd
end

-- One command on connection fd: its lines, and "ok" or "error" by its last
-- line (<CMD OK> / <CMD Error>).
function T.console_ask(fd, line)
	local socket = require "skynet.socket"
	socket.write(fd, line .. "\n")
	local out = {}
	while true do
		local l = socket.readline(fd, "\n")
		T.check(l, "console closed during " .. line)
		if l == "<CMD OK>" then return out, "ok" end
		if l == "<CMD Error>" then return out, "error" end
		out[#out + 1] = l
	end
end

-- One command that must succeed: its lines.
function T.console_cmd(fd, line)
	local out, how = T.console_ask(fd, line)
	if how ~= "ok" then T.fail("console " .. line .. ": " .. table.concat(out, " / ")) end
	return out
end

return T
