-- grower: C and Lua growth on demand, for limits.
--   prepare n : a 256 KiB string and n free slots, made before a limit is set
--   cgrow     : fills the slots with skynet.pack buffers of the string (C),
--               then (past the limit) a pcall of 4 MiB more Lua heap, then
--               frees the buffers; returns the buffers made and pcall's ok, err
--   keep      : fills the slots with the buffers and keeps them (C past the
--               limit), returns how many
--   lgrow     : (buffers kept) a pcall growing a Lua table past the limit;
--               returns pcall's ok, err, and Lua it made afterwards
--   drop      : frees the kept buffers
--   len s     : #s (a payload bigger than the receiver's C room)
-- Under skynet's soft C limits only the Lua heap's own size is refused: C
-- bytes past the limit leave Lua room to run, catch and answer.
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

function command.keep()
	for i = 1, n do
		slots[2 * i - 1], slots[2 * i] = skynet.pack(payload)
	end
	return n
end

function command.lgrow()
	local ok, err = pcall(function()
		local t = {}
		for i = 1, 1e6 do t[i] = ("x"):rep(100) .. i end
	end)
	return ok, tostring(err), ("after: %s"):format(ok)
end

function command.drop()
	drop()
	return true
end

function command.len(s)
	return #s
end

require "serve"(command)
