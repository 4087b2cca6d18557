-- The demo server's bootstrap: a lobby with game rooms and their players,
-- plus two misbehaving services (a C leaker and a Lua heap hog).
local skynet = require "skynet"

local ROOMS = 3
local PLAYERS = 4   -- per room

skynet.start(function()
	local lobby = skynet.newservice("lobby")
	for r = 1, ROOMS do
		local room = skynet.newservice("room", r)
		skynet.call(lobby, "lua", "add_room", room)
		for p = 1, PLAYERS do
			skynet.newservice("player", room, string.format("p%d.%d", r, p))
		end
	end
	skynet.newservice("hog")
	skynet.newservice("leaker")
	skynet.error("demo: " .. ROOMS .. " rooms, " .. ROOMS * PLAYERS .. " players, a hog and a leaker are up")
	-- players come and go: every 3 s one quits and a new one joins
	local n = 0
	while true do
		skynet.sleep(300)
		n = n + 1
		local rooms = skynet.call(lobby, "lua", "rooms")
		local room = rooms[n % #rooms + 1]
		local gone = skynet.call(room, "lua", "kick_one")
		skynet.newservice("player", room, "new" .. n)
		if gone then skynet.error("demo: player " .. skynet.address(gone) .. " left, a new one joins") end
	end
end)
