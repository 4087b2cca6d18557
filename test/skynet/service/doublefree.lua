-- doublefree: an operator's `guard :h 1` in skynet's debug console on a
-- service that then frees one of its messages twice (trasher.lua). The
-- release build reports the double free naming that service, then aborts;
-- the node runs on until then: a ticker service beside it ticks before the
-- guard is set and on after it, up to the double free (skynet_test.sh
-- checks the lines' order). Lines are written whole (say), as the ticker's.
local skynet = require "skynet"
local socket = require "skynet.socket"

local LOG = assert(skynet.getenv "logger", "config: logger (a file) missing")

local function say(line)
	io.stdout:write(line .. "\n")
end

-- Waits (polling, 10 s at most) until the ticker's count passes n; the count.
local function ticks_past(ticker, n)
	local deadline = skynet.now() + 1000
	local t = skynet.call(ticker, "lua", "count")
	while t <= n and skynet.now() < deadline do
		skynet.sleep(1)
		t = skynet.call(ticker, "lua", "count")
	end
	assert(t > n, "doublefree: the ticker stopped at " .. t)
	return t
end

local function log_port()
	local f = assert(io.open(LOG, "r"))
	local s = f:read "a"
	f:close()
	return s:match("Start debug console at 127%.0%.0%.1:(%d+)")
end

skynet.start(function()
	skynet.newservice("debug_console", "127.0.0.1", 0)
	local deadline = skynet.now() + 1000
	local port = log_port()
	while not port and skynet.now() < deadline do
		skynet.sleep(1)
		port = log_port()
	end
	assert(port, "doublefree: the console did not start")
	local fd = assert(socket.open("127.0.0.1", tonumber(port)), "connect to the console")
	assert(socket.readline(fd, "\n") == "Welcome to skynet console")
	local ticker = skynet.newservice("ticker")
	ticks_past(ticker, 0)
	local victim = skynet.newservice("trasher")
	local a = skynet.address(victim)
	socket.write(fd, "guard " .. a .. " 1\n")
	while true do
		local l = assert(socket.readline(fd, "\n"), "console closed")
		say("doublefree: console: " .. l)
		if l == "<CMD OK>" or l == "<CMD Error>" then break end
	end
	local t = skynet.call(ticker, "lua", "count")
	say("doublefree: guard set at tick " .. t)
	t = ticks_past(ticker, t + 4)
	say("doublefree: injected by " .. a .. " at tick " .. t)
	skynet.send(victim, "lua", "trash")
end)
