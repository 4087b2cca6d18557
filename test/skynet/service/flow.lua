-- flow: the owner follows the message, mailboxes, socket data, names.
-- Prints "flow: ok" when every check held, "flow: FAIL ..." otherwise.
local skynet = require "skynet"
require "skynet.manager"   -- skynet.kill, skynet.name
local socket = require "skynet.socket"
local memory = require "skynet.memory"
local T = require "testlib"

local K = 200      -- payloads of each kind (rawsend, redirect, call)
local N = 1000     -- bytes each
local M = 50       -- messages left waiting in a mailbox

local function case_names(holder)
	T.eq(memory.stat(skynet.self()).name, "snlua flow", "a service's launch name")
	T.eq(memory.stat(holder).name, ".holder", "its registered name")
	T.eq(memory.stat(skynet.localname ".launcher").name, ".launcher", "the launcher")
	T.eq(memory.stat(skynet.localname ".logger").name, ".logger", "the logger (a C service)")
	for h, row in pairs { [0xffffffff] = "main", [0xfffffffe] = "socket", [0xfffffffd] = "timer",
			[0xfffffffc] = "monitor", [0xfffffff0] = "code cache" } do
		local st = memory.stat(h)
		T.check(st, string.format("a row for :%08x", h))
		T.eq(st.name, row, string.format("the row :%08x", h))
	end
	-- The code this very service ran is in the cache, not on its account.
	T.check(memory.stat(0xfffffff0).lua_bytes > 0, "the code cache holds the loaded code")
end

-- K payloads of each kind, kept by the holder: its figures grow by them, the
-- sender's do not; killing the sender then logs nothing.
local function case_kept(holder, sender)
	local hb, sb = T.settled(holder), T.settled(sender)
	T.eq(skynet.call(sender, "lua", "send", holder, K, N), true, "sent")
	T.eq(skynet.call(holder, "lua", "kept"), 3 * K, "the holder keeps them")
	local h, s = T.settled(holder), T.settled(sender)
	T.check(h.blocks >= hb.blocks + 3 * K, string.format("holder blocks %d -> %d", hb.blocks, h.blocks))
	T.check(h.bytes >= hb.bytes + 3 * K * N, string.format("holder bytes %d -> %d", hb.bytes, h.bytes))
	T.check(s.bytes < sb.bytes + N, string.format("the sender holds none: %d -> %d", sb.bytes, s.bytes))
	T.check(s.blocks < sb.blocks + 10, string.format("the sender's blocks %d -> %d", sb.blocks, s.blocks))
	skynet.kill(sender)
	T.retired(sender)
	T.eq(T.count(T.log_text(), T.report_of(sender)), 0, "the sender exits without a line")
	local after = T.settled(holder)
	T.eq(after.blocks, h.blocks, "the holder's blocks after the sender died")
	T.eq(after.bytes, h.bytes, "the holder's bytes after the sender died")
end

-- M messages waiting in the holder's mailbox while it is busy: it sees them
-- in its own queued figures; once it is done they are 0.
local function case_spin_saw(holder, sender)
	-- The holder answers the spin call when the spin ends.
	local seen
	skynet.fork(function()
		seen = { skynet.call(holder, "lua", "spin", M) }
	end)
	skynet.sleep(0)
	T.eq(skynet.call(sender, "lua", "burst", holder, M, N), true, "burst sent")
	T.poll("the holder's spin", function() return seen end)
	T.check(seen[2] >= M, string.format("queued_msgs seen while busy: %d", seen[2]))
	T.check(seen[1] >= M * N, string.format("queued bytes seen while busy: %d", seen[1]))
	T.poll("an empty mailbox", function()
		local st = memory.stat(holder)
		return st.queued_msgs == 0 and st.queued == 0
	end)
end

-- A client on loopback writes D bytes the gate-like service never reads:
-- they are its, not the socket thread's.
local function case_socket()
	local D = 256 * 1024
	local gate = skynet.newservice "gatelike"
	local port = skynet.call(gate, "lua", "port")
	local base = T.settled(gate)
	local sock_base = memory.stat(0xfffffffe).bytes
	local fd = assert(socket.open("127.0.0.1", port), "connect to the gate-like service")
	socket.write(fd, string.rep("d", D))
	local st = T.poll("the unread data on the gate's account", function()
		local s = memory.stat(gate)
		return s.bytes >= base.bytes + D and s
	end)
	T.check(memory.stat(0xfffffffe).bytes < sock_base + D // 2,
		"the socket thread does not hold it: " .. memory.stat(0xfffffffe).bytes)
	socket.close(fd)
	return st
end

-- Socket data for a service that is gone: D bytes wait in its mailbox when
-- it exits (dropped with it: freed, no exit line), then more arrive for its
-- dead handle (freed by the socket thread); its record is reclaimed and the
-- socket thread keeps none of it.
local function case_socket_dead()
	local D = 64 * 1024
	local gate = skynet.newservice "gatelike"
	local port = skynet.call(gate, "lua", "port")
	local sock_base = memory.stat(0xfffffffe).bytes
	local fd = assert(socket.open("127.0.0.1", port), "connect to the gate-like service")
	T.poll("the connection started", function() return skynet.call(gate, "lua", "accepted") == 1 end)
	skynet.send(gate, "lua", "spin_exit", D)
	T.poll("the gate busy", function() return memory.stat(gate).name == "spinning" end)
	socket.write(fd, string.rep("q", D))
	T.retired(gate)
	local st = memory.stat(gate)
	T.check(st == nil or st.bytes == 0 and st.blocks == 0,
		string.format("the dead gate holds %d bytes in %d blocks", st and st.bytes or 0, st and st.blocks or 0))
	T.eq(T.count(T.log_text(), T.report_of(gate)), 0, "the gate exits without a line")
	-- More data for the dead handle; each write makes the socket thread run.
	T.poll("the dead gate's record reclaimed", function()
		socket.write(fd, string.rep("r", 1000))
		skynet.sleep(1)
		return memory.stat(gate) == nil
	end)
	-- and stays so: data read for the dead handle (the socket thread's
	-- allocations, published after each event) makes it no new record.
	for _ = 1, 3 do
		local a0 = memory.stat(0xfffffffe).allocs
		socket.write(fd, string.rep("s", 1000))
		T.poll("the socket thread's read", function() return memory.stat(0xfffffffe).allocs > a0 end)
		T.eq(memory.stat(gate), nil, "a record for the dead gate after data for it")
	end
	T.check(memory.stat(0xfffffffe).bytes < sock_base + D // 2,
		"the socket thread does not hold it: " .. memory.stat(0xfffffffe).bytes)
	socket.close(fd)
end

T.start("flow", function()
	local holder = skynet.newservice "holder"
	skynet.name(".holder", holder)
	case_names(holder)
	local sender = skynet.newservice "sender"
	case_kept(holder, sender)
	sender = skynet.newservice "sender"
	case_spin_saw(holder, sender)
	case_socket()
	case_socket_dead()
end)
