-- A player: joins its room, chats a few times a second, remembers what it
-- heard (bounded) and asks the room for its state now and then.
local skynet = require "skynet"

local room, name = ...
room = math.tointeger(room)
local heard = {}
local HEARD = 50
local n = 0
local playing = true

skynet.start(function()
	require("skynet.core").label("player " .. name)
	skynet.call(room, "lua", "join", name)
	skynet.dispatch("lua", function(session, source, what, who, text)
		if what == "heard" then
			n = n + 1
			heard[n % HEARD + 1] = who .. " said " .. text
		elseif what == "kicked" then
			playing = false
			skynet.exit()
		end
	end)
	skynet.fork(function()
		local i = 0
		while playing do
			i = i + 1
			skynet.send(room, "lua", "chat", name, "move " .. i .. " to " .. math.random(100) .. "," .. math.random(100))
			if i % 20 == 0 then
				skynet.call(room, "lua", "state")
			end
			skynet.sleep(math.random(10, 30))
		end
	end)
end)
