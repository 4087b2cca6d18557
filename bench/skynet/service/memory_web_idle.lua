-- memory_web's cost while nobody asks (docs/views.md): start skynet with
-- start = "memory_web_idle" (keeper from test/skynet/service on luaservice),
-- profile = true; it prints the service's CPU over 30 idle seconds and the
-- time of one history sample, then exits.
local skynet = require "skynet"
local memory = require "skynet.memory"
skynet.start(function()
	local web = skynet.newservice("memory_web", "127.0.0.1:0")
	for i = 1, 100 do skynet.newservice("keeper") end
	local a = skynet.call(web, "debug", "STAT")
	skynet.sleep(3000)
	local b = skynet.call(web, "debug", "STAT")
	print(string.format("memory_web_idle: memory_web over 30 s idle: cpu %.6f s, messages %d (100 services)", b.cpu - a.cpu, b.message - a.message))
	local h = memory.history(600)
	local t0 = os.clock()
	for i = 1, 1000 do h:sample(i, {}) end
	print(string.format("memory_web_idle: one sample of 100+ services: %.1f us (os.clock)", (os.clock() - t0) * 1000))
	os.exit(0)
end)
