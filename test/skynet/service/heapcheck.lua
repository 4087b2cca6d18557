-- heapcheck: the sampled heap profile in skynet (docs/profile.md), at the
-- small mean skynet_test.sh sets (SKYNET_MEM_PROFILE_SAMPLE). A service that
-- grows through a C module (heapgrow.c) shows the module's function first in
-- the debug console's `heap :h`, with an estimate near its C bytes; a leaker
-- killed holding such blocks has an exit line naming that function. The
-- MEMORY_CHECK build samples nothing: the console refuses, and the script
-- checks its leak listing instead. Prints "heapcheck: ok" or "heapcheck: FAIL ...".
local skynet = require "skynet"
require "skynet.manager"   -- skynet.kill
local memory = require "skynet.memory"
local T = require "testlib"

local SITE = "heapgrow_site"

T.start("heapcheck", function()
	local console = T.console_open(T.console_start())

	local g = skynet.newservice("heapgrower")
	skynet.call(g, "lua", "grow", 2048, 4096)   -- 8 MiB from heapgrow_site
	local a = skynet.address(g)
	local out, how = T.console_ask(console, "heap " .. a)
	if memory.check then
		T.eq(how, "error", "heap in the MEMORY_CHECK build")
		T.check(table.concat(out, " "):find("samples nothing", 1, true), "the refusal says why: " .. table.concat(out, " / "))
	else
		T.eq(how, "ok", "heap " .. a .. ": " .. table.concat(out, " / "))
		T.eq(memory.profile_sample(), 16384, "the mean skynet_test.sh set")
		local est = tonumber(out[1]:match("^" .. a .. "\tblocks:%d+\testimate:(%d+)\tsample:%d+$"))
		T.check(est, "heap's first line: " .. out[1])
		T.check(out[2] and out[2]:match("^site\t" .. SITE .. "%+0x%x+\t~"),
			"the top site is the C module's " .. SITE .. ": " .. table.concat(out, " / "))
		local bytes = memory.stat(g).bytes
		T.check(math.abs(est - bytes) <= bytes / 4,
			string.format("the estimate %d is within 25%% of the C bytes %d", est, bytes))
		print(string.format("heapcheck: heap: %s / %s (C bytes %d)", out[1], out[2], bytes))
	end
	skynet.call(g, "lua", "release")

	-- A leaker: 1 MiB from heapgrow_site, killed holding it.
	local l = skynet.newservice("heapgrower", "leak")
	local line = T.report_of(l)
	skynet.kill(l)
	local text = T.poll("the leaker's exit line", function()
		local s = T.log_text()
		local i = s:find(line, 1, true)
		return i and s:sub(i):match("^[^\n]*")
	end)
	if memory.check then
		T.check(not text:find("allocated at", 1, true), "no sampled sites in the MEMORY_CHECK build: " .. text)
	else
		T.check(text:find(", allocated at " .. SITE .. "+0x", 1, true), "the exit line names " .. SITE .. ": " .. text)
	end
	print("heapcheck: leaker: " .. text)
	print("heapcheck: leaker " .. skynet.address(l))
end)
