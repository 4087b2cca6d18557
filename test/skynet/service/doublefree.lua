-- doublefree: a service guards itself (every block in a guarded slot, as the
-- console's `guard :h 1` does), then frees one of its messages twice. The
-- release build reports the double free naming the service, then aborts.
local skynet = require "skynet"
local memory = require "skynet.memory"

skynet.start(function()
	local self = skynet.self()
	memory.guard(self, 1)
	local msg, sz = skynet.pack("a message", 42)
	print("doublefree: injected by " .. skynet.address(self))
	skynet.trash(msg, sz)
	skynet.trash(msg, sz)
	print("doublefree: not caught")
end)
