-- grower: C and Lua growth on demand, for limits.
--   prepare n : a 256 KiB string and n free slots, made before a limit is set
--   cgrow     : fills the slots with skynet.pack buffers of the string (C),
--               then (past the limit) a pcall of 4 MiB more Lua heap, then
--               frees the buffers; returns the buffers made and pcall's ok, err
-- All in one dispatch: past the limit no Lua allocation succeeds, not even
-- the ones skynet's dispatch makes, until the buffers are freed.
local skynet = require "skynet"

local payload, slots, n
local command = {}

function command.prepare(k)
	payload = string.rep("g", 256 * 1024)
	slots, n = {}, k
	for i = 1, 2 * k do slots[i] = false end
	return true
end

local function drop()
	for i = 1, n do
		if slots[2 * i - 1] then
			skynet.trash(slots[2 * i - 1], slots[2 * i])
			slots[2 * i - 1], slots[2 * i] = false, false
		end
	end
end

function command.cgrow()
	for i = 1, n do
		slots[2 * i - 1], slots[2 * i] = skynet.pack(payload)
	end
	local ok, err = pcall(string.rep, "x", 4 << 20)
	drop()
	return n, ok, err
end

require "serve"(command)
