-- handletotals: run by the harness after skynet's testhandle, which launched
-- and killed thousands of services on every worker. The records must add up
-- exactly to the process totals, the killed services' records be reclaimed
-- (none is kept by a worker's ledger), and none keep Lua heap.
-- Prints "handletotals: ok", or "handletotals: FAIL ...".
--
-- The two reads are one C call (skynet_mem_totals.audit): between
-- memory.totals() and memory.top() this service's own Lua heap grows by the
-- tables they return, so read from Lua the two never agree. Both sides are
-- published figures, so a worker mid-dispatch does not matter; only a
-- publication running on the other worker during the read does: poll.
local skynet = require "skynet"
local memory = require "skynet.memory"
local totals = require "skynet_mem_totals"

local MAX_RECORDS = 64   -- the live services and a few exited ones still holding blocks

skynet.start(function()
	local tb, tbl, tl, ts, b, bl, l, n, retired_lua
	local deadline = skynet.now() + 1000   -- 10 s
	repeat
		tb, tbl, tl, ts, b, bl, l, n, retired_lua = totals.audit()
		local same = b == tb and bl == tbl and l == tl and n == ts
		if not same then
			skynet.sleep(1)
		end
	until same or skynet.now() > deadline
	local function fail(msg)
		print("handletotals: FAIL " .. msg)
	end
	if b ~= tb or bl ~= tbl or l ~= tl then
		local list = {}
		for _, st in ipairs(memory.top(1 << 30)) do
			list[#list + 1] = string.format("%s %d/%d/%d%s", skynet.address(st.handle), st.bytes, st.blocks,
				st.lua_bytes, st.retired and " retired" or "")
		end
		return fail(string.format("records sum to %d bytes %d blocks %d lua, totals say %d %d %d; records: %s",
			b, bl, l, tb, tbl, tl, table.concat(list, ", ")))
	end
	if n ~= ts then
		return fail(string.format("%d records listed, totals count %d", n, ts))
	end
	if n > MAX_RECORDS then
		return fail(string.format("%d records left after the launches and kills (at most %d)", n, MAX_RECORDS))
	end
	if retired_lua ~= 0 then
		return fail(string.format("%d exited services hold Lua heap", retired_lua))
	end
	print(string.format("handletotals: ok (%d records, %d bytes, %d blocks, %d lua bytes)", n, b, bl, l))
end)
