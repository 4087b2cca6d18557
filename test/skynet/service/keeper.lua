-- keeper: holds what memcheck asks it to, so its record can be checked.
--   keep n  : n more C blocks from a C module (skynet.pack buffers), never freed
--   keepbig n : one more such block of n bytes and more (a string packed)
--   grow n  : n more Lua strings of 100 bytes, kept in a table
--   count   : its Lua heap as snlua counts it (collectgarbage "count", bytes)
local skynet = require "skynet"

local kept, grown = {}, {}

local command = {}

function command.keep(n)
	for _ = 1, n do
		kept[#kept + 1] = skynet.pack(#kept)   -- a lightuserdata: the buffer stays
	end
	return #kept
end

function command.keepbig(n)
	kept[#kept + 1] = skynet.pack(string.rep("k", n))
	return #kept
end

function command.grow(n)
	for i = 1, n do
		grown[#grown + 1] = string.rep("x", 99) .. string.char(i % 256)
	end
	return #grown
end

require "serve"(command)
