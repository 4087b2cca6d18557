-- heapgrower: grows its C heap through skynet_mem_heapgrow (heapgrow.c) on
-- request; with "leak", grows once and keeps it until it is killed.
local skynet = require "skynet"
local heapgrow = require "skynet_mem_heapgrow"

local mode = ...
local lists = {}

skynet.start(function()
	if mode == "leak" then
		heapgrow.grow(64, 16384)   -- 1 MiB, never released
		return
	end
	skynet.dispatch("lua", function(_, _, what, count, size)
		if what == "grow" then
			lists[#lists + 1] = heapgrow.grow(count, size)
		elseif what == "release" then
			for _, l in ipairs(lists) do heapgrow.release(l) end
			lists = {}
		end
		skynet.ret(skynet.pack(true))
	end)
end)
