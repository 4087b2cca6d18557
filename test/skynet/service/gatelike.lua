-- gatelike: accepts connections on 127.0.0.1 (a port the system picks) and
-- never reads them: what clients write waits in its socket buffers.
--   port  : the port it listens on; count: its Lua heap
local skynet = require "skynet"
local socket = require "skynet.socket"

local port
local command = {}
function command.port()
	return port
end
function command.count()
	return math.floor(collectgarbage "count" * 1024)
end

skynet.start(function()
	local id, _, p = socket.listen("127.0.0.1", 0)
	port = p
	socket.start(id, function(fd)
		socket.start(fd)   -- accepted; its data is buffered, never read
	end)
	skynet.dispatch("lua", function(_, _, cmd, ...)
		skynet.ret(skynet.pack(command[cmd](...)))
	end)
end)
