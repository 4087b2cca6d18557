-- webcheck: the start of views_web.sh's skynet: memory_web on a free port,
-- a bad address refused, and the services the test looks at: a keeper with
-- an awkward name (CJK, quotes, a backslash, an invalid byte) and known C and
-- Lua bytes (one block of 16 MiB, sure to be in its heap profile), a hog whose
-- growth its limit refused, a killed leaker. Prints "webcheck: ready
-- keeper=:h hog=:h leaker=:h check=0|1", then the script asks HTTP.
local skynet = require "skynet"
require "skynet.manager"   -- skynet.kill
local memory = require "skynet.memory"

local function settle(h)
	skynet.call(h, "lua", "count")
	skynet.sleep(0)
end

skynet.start(function()
	skynet.newservice("memory_web", "127.0.0.1:0", 3)   -- connections live 3 s
	local ok, err = pcall(skynet.newservice, "memory_web", "localhost:99999")
	print("webcheck: bad address " .. (ok and "accepted" or "refused: " .. tostring(err)))
	ok = pcall(skynet.newservice, "memory_web", "127.0.0.1:0", "0")
	print("webcheck: bad timeout " .. (ok and "accepted" or "refused"))
	local keeper = skynet.newservice("keeper", "房间", "\"q\"", "C:\\x", "bad\xffbyte")
	-- 16 MiB in one block: in its heap profile whatever the sampler's draw
	-- (mean 512 KiB: missed with a chance of e^-32)
	skynet.call(keeper, "lua", "keepbig", 16 << 20)
	skynet.call(keeper, "lua", "keep", 100)
	skynet.call(keeper, "lua", "grow", 2000)
	-- the hog grows into a limit: its Lua growth refused at the wall, it
	-- still answers the views (its C allocations pass a limit, issue 20)
	local hog = skynet.newservice("hog")
	skynet.call(hog, "lua", "fill", 100)
	settle(hog)
	local st = memory.stat(hog)
	memory.setlimit(hog, st.bytes + st.lua_bytes + 64 * 1024)
	local filled = skynet.call(hog, "lua", "fill", 1000)
	assert(not filled, "the hog grew past its limit")
	settle(hog)
	st = memory.stat(hog)
	print(string.format("webcheck: hog at %d of %d", st.bytes + st.lua_bytes, st.limit))
	local leaker = skynet.newservice("keeper")
	skynet.call(leaker, "lua", "keep", 10)
	skynet.kill(leaker)
	settle(keeper)
	print(string.format("webcheck: ready keeper=%s hog=%s leaker=%s check=%s", skynet.address(keeper),
		skynet.address(hog), skynet.address(leaker), memory.check and 1 or 0))
end)
