-- sender: sends "client" payloads of n bytes to a holder.
--   send h k n  : k by rawsend, k by redirect, k by call
--   burst h m n : m by rawsend
local skynet = require "skynet"

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	pack = function(...) return ... end,
	unpack = function(...) return ... end,
}

local command = {}

function command.send(h, k, n)
	local payload = string.rep("s", n)
	for _ = 1, k do
		skynet.rawsend(h, "client", skynet.pack(payload))
		local msg, sz = skynet.pack(payload)
		skynet.redirect(h, skynet.self(), "client", 0, msg, sz)
		skynet.call(h, "client", payload)
	end
	return true
end

function command.burst(h, m, n)
	local payload = string.rep("b", n)
	for _ = 1, m do
		skynet.rawsend(h, "client", skynet.pack(payload))
	end
	return true
end

require "serve"(command)
