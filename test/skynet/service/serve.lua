-- serve: the dispatch keeper and hog share. Each "lua" call runs
-- command[cmd](...) and answers with its results; every such service also
-- answers count: its Lua heap as snlua counts it (collectgarbage "count", bytes).
local skynet = require "skynet"

return function(command)
	function command.count()
		return math.floor(collectgarbage "count" * 1024)
	end
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, cmd, ...)
			skynet.ret(skynet.pack(command[cmd](...)))
		end)
	end)
end
