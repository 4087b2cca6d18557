-- doublefree: an operator's `guard :h 1` in skynet's debug console on a
-- service that then frees one of its messages twice (trasher.lua). The
-- release build reports the double free naming that service, then aborts;
-- the node runs on until then: a ticker service beside it ticks before the
-- guard is set and on after it, up to the double free (skynet_test.sh
-- checks the lines' order). Lines are written whole (say), as the ticker's.
local skynet = require "skynet"
local T = require "testlib"
T.name = "doublefree"   -- T's failures read "doublefree: FAIL ..."

local function say(line)
	io.stdout:write(line .. "\n")
end

-- Waits (polling, 10 s at most) until the ticker's count passes n; the count.
local function ticks_past(ticker, n)
	return T.poll("the ticker's count past " .. n, function()
		local t = skynet.call(ticker, "lua", "count")
		return t > n and t
	end)
end

skynet.start(function()
	local fd = T.console_open(T.console_start())
	local ticker = skynet.newservice("ticker")
	ticks_past(ticker, 0)
	local victim = skynet.newservice("trasher")
	local a = skynet.address(victim)
	local out, how = T.console_ask(fd, "guard " .. a .. " 1")
	out[#out + 1] = how == "ok" and "<CMD OK>" or "<CMD Error>"
	for _, l in ipairs(out) do say("doublefree: console: " .. l) end
	local t = skynet.call(ticker, "lua", "count")
	say("doublefree: guard set at tick " .. t)
	t = ticks_past(ticker, t + 4)
	say("doublefree: injected by " .. a .. " at tick " .. t)
	skynet.send(victim, "lua", "trash")
end)
