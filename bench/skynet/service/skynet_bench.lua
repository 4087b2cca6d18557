-- skynet_bench: one workload, timed, then the process ends.
--   skynet_bench pingpong PAIRS CALLS : PAIRS client/server pairs, CALLS skynet.call each
--   skynet_bench lua ROUNDS           : a Lua allocation-heavy service (trees and strings)
-- Prints "bench: <workload> <ops> <wall seconds> <process cpu seconds>".
local skynet = require "skynet"
require "skynet.manager"   -- skynet.abort

local mode, a, b = ...

if mode == "server" then
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, x)
			skynet.ret(skynet.pack(x + 1))
		end)
	end)
	return
end

if mode == "client" then
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, server, calls)
			local x = 0
			for _ = 1, calls do
				x = skynet.call(server, "lua", x)
			end
			skynet.ret(skynet.pack(x))
		end)
	end)
	return
end

local function tree(d)
	if d == 0 then return {} end
	return { tree(d - 1), tree(d - 1) }
end

local function check(t)
	if t[1] == nil then return 1 end
	return 1 + check(t[1]) + check(t[2])
end

local function lua_round(i)
	local n = check(tree(12))
	local parts = {}
	for j = 1, 200 do
		parts[j] = tostring(i * j) .. "-" .. string.rep("s", j % 17)
	end
	local s = table.concat(parts, ",")
	local words = {}
	for w in s:gmatch("[^,]+") do
		words[#words + 1] = w
	end
	return n + #words
end

local function report(what, ops, t0, c0)
	local wall = (skynet.hpc() - t0) / 1e9
	print(string.format("bench: %s %d %.6f %.6f", what, ops, wall, os.clock() - c0))
end

skynet.start(function()
	if mode == "pingpong" then
		local pairs_n, calls = math.tointeger(tonumber(a)), math.tointeger(tonumber(b))
		local clients, servers = {}, {}
		for i = 1, pairs_n do
			servers[i] = skynet.newservice(SERVICE_NAME, "server")
			clients[i] = skynet.newservice(SERVICE_NAME, "client")
		end
		local left = pairs_n
		local t0, c0 = skynet.hpc(), os.clock()
		local co = coroutine.running()
		for i = 1, pairs_n do
			skynet.fork(function()
				assert(skynet.call(clients[i], "lua", servers[i], calls) == calls)
				left = left - 1
				if left == 0 then skynet.wakeup(co) end
			end)
		end
		skynet.wait(co)
		report("pingpong", pairs_n * calls, t0, c0)
	elseif mode == "lua" then
		local rounds = math.tointeger(tonumber(a))
		local t0, c0 = skynet.hpc(), os.clock()
		local sum = 0
		for i = 1, rounds do
			sum = sum + lua_round(i)
		end
		assert(sum > 0)
		report("lua", rounds, t0, c0)
	else
		error("unknown mode " .. tostring(mode))
	end
	skynet.abort()
end)
