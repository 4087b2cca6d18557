-- gatelike: accepts connections on 127.0.0.1 (a port the system picks) and
-- never reads them: what clients write waits in its socket buffers.
--   port  : the port it listens on; count: its Lua heap
--   accepted : connections started so far
--   spin_exit d : (send) renames itself "spinning", then keeps its worker
--   until d more bytes wait on its account with messages in its mailbox (or
--   10 s), and exits with them unread, leaving its connections open
--   (abandoned: what clients write next is for its dead handle)
local skynet = require "skynet"
local socket = require "skynet.socket"
local memory = require "skynet.memory"

local port
local accepted = 0
local fds = {}
local command = {}
function command.port()
	return port
end
function command.accepted()
	return accepted
end
function command.spin_exit(d)
	local me = skynet.self()
	local base = memory.stat(me).bytes
	memory.setname(me, "spinning")
	local deadline = skynet.now() + 1000
	repeat
		local st = memory.stat(me)
	until (st.bytes >= base + d and st.queued_msgs > 0) or skynet.now() > deadline
	for _, fd in ipairs(fds) do
		socket.abandon(fd)   -- else its Lua state's end closes them
	end
	skynet.exit()
end
function command.count()
	return math.floor(collectgarbage "count" * 1024)
end

skynet.start(function()
	local id, _, p = socket.listen("127.0.0.1", 0)
	port = p
	socket.start(id, function(fd)
		socket.start(fd)   -- accepted; its data is buffered, never read
		accepted = accepted + 1
		fds[accepted] = fd
	end)
	skynet.dispatch("lua", function(_, _, cmd, ...)
		skynet.ret(skynet.pack(command[cmd](...)))
	end)
end)
