-- doublefree: an operator's `guard :h 1` in skynet's debug console on a
-- service that then frees one of its messages twice (trasher.lua). The
-- release build reports the double free naming that service, then aborts;
-- the node runs on until then.
local skynet = require "skynet"
local socket = require "skynet.socket"

local LOG = assert(skynet.getenv "logger", "config: logger (a file) missing")

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
	local victim = skynet.newservice("trasher")
	local a = skynet.address(victim)
	socket.write(fd, "guard " .. a .. " 1\n")
	while true do
		local l = assert(socket.readline(fd, "\n"), "console closed")
		print("doublefree: console: " .. l)
		if l == "<CMD OK>" or l == "<CMD Error>" then break end
	end
	print("doublefree: injected by " .. a)
	skynet.send(victim, "lua", "trash")
end)
