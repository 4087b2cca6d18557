-- The lobby: knows the rooms.
local skynet = require "skynet"

local rooms = {}

skynet.start(function()
	skynet.register(".lobby")
	skynet.dispatch("lua", function(session, source, cmd, arg)
		if cmd == "add_room" then
			rooms[#rooms + 1] = arg
			skynet.retpack(#rooms)
		elseif cmd == "rooms" then
			skynet.retpack(rooms)
		else
			error("lobby: unknown command " .. tostring(cmd))
		end
	end)
end)
