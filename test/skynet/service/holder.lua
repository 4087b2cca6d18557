-- holder: keeps every "client" message it gets (rawsend, redirect or call:
-- its payload is never freed) and answers calls of it with "". Runs its
-- dispatch in skynet's forward mode, so it frees the other messages itself.
--   count         : its Lua heap (serve.lua's)
--   kept          : how many payloads it keeps
--   spin m        : busy (its worker held) until m messages wait in its own
--                   mailbox, or 10 s; returns the queued and queued_msgs seen
local skynet = require "skynet"
local c = require "skynet.core"
local memory = require "skynet.memory"

local kept = {}
local command = {}

function command.count()
	return math.floor(collectgarbage "count" * 1024)
end
function command.kept()
	return #kept
end
function command.spin(m)
	local deadline = skynet.now() + 1000
	local st
	repeat
		st = memory.stat(skynet.self())
	until st.queued_msgs >= m or skynet.now() > deadline
	return st.queued, st.queued_msgs
end

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
}

local function dispatch(ptype, msg, sz, session, source)
	if ptype == skynet.PTYPE_CLIENT then
		kept[#kept + 1] = msg
		if session ~= 0 then
			c.send(source, skynet.PTYPE_RESPONSE, session, "")
		end
		return
	end
	local ok, err = pcall(skynet.dispatch_message, ptype, msg, sz, session, source)
	c.trash(msg, sz)
	assert(ok, err)
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		skynet.ret(skynet.pack(command[cmd](...)))
	end)
	c.callback(dispatch, true)
end)
