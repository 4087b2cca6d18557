-- A game room: players join, chat and move; the room keeps a bounded history
-- and broadcasts every message to everyone in the room.
local skynet = require "skynet"

local id = ...
local players = {}     -- handle -> name
local history = {}     -- the last HISTORY chat lines
local HISTORY = 200
local said = 0

local cmd = {}

function cmd.join(source, name)
	players[source] = name
	return #history
end

function cmd.leave(source)
	players[source] = nil
end

function cmd.chat(source, text)
	said = said + 1
	history[said % HISTORY + 1] = players[source] .. ": " .. text
	for p in pairs(players) do
		if p ~= source then skynet.send(p, "lua", "heard", players[source], text) end
	end
end

function cmd.state()
	local n = 0
	for _ in pairs(players) do n = n + 1 end
	return { room = id, players = n, said = said }
end

function cmd.kick_one()
	local victim = next(players)
	if victim then
		players[victim] = nil
		skynet.send(victim, "lua", "kicked")
	end
	return victim
end

skynet.start(function()
	require("skynet.core").label("room " .. id)
	skynet.dispatch("lua", function(session, source, c, ...)
		local f = cmd[c]
		if not f then error("room: unknown command " .. tostring(c)) end
		local r = f(source, ...)
		if session ~= 0 then skynet.retpack(r) end
	end)
end)
