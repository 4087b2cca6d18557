-- churn: 2,000 clean services launched and killed log no leak line, nor one
-- killed with a timeout pending; a
-- leaker logs exactly one, with its bytes, blocks and name.
local skynet = require "skynet"
require "skynet.manager"   -- skynet.kill
local memory = require "skynet.memory"
local T = require "testlib"

local N = 2000

T.start("churn", function()
	local last
	for _ = 1, N do
		last = skynet.newservice "clean"
		skynet.kill(last)
	end
	T.retired(last)
	-- A service killed with a timeout pending: the timer's node is the
	-- timer thread's, not a leak.
	local sleeper = skynet.newservice "sleeper"
	skynet.kill(sleeper)
	T.retired(sleeper)
	local leaker = skynet.newservice "leaker"
	skynet.kill(leaker)
	local text = T.poll("the leaker's line", function()
		local t = T.log_text()
		return t:find(T.report_of(leaker), 1, true) and t
	end)
	T.eq(T.count(text, T.report_of(leaker)), 1, "the leaker logs one line")
	-- shown as the leaker's own line, not [:00000000]'s
	local who = skynet.address(leaker)
	T.eq(T.count(text, "[" .. who .. "] " .. T.report_of(leaker)), 1, "the line's source is the leaker")
	local bytes, blocks = text:match(T.report_of(leaker):gsub("%p", "%%%0") .. " (%d+) bytes in (%d+) blocks, lua 0 bytes %(snlua leaker%)")
	T.check(blocks, "the leaker's line names its bytes, blocks and name")
	T.eq(math.tointeger(tonumber(blocks)), 1, "the leaker left one block")
	local st = memory.stat(leaker)
	T.eq(st.blocks, 1, "its retired record holds it")
	T.eq(math.tointeger(tonumber(bytes)), st.bytes, "the line's bytes")
	-- Every exit line in the log: the leaker's only (the clean services and
	-- everything else that exited so far left nothing).
	T.eq(T.count(text, "exited holding"), 1, "exit lines in the log")
	T.eq(T.count(text, "(snlua clean)"), 0, "no clean service's line")
	T.eq(T.count(text, "(snlua sleeper)"), 0, "no line for a pending timeout")
end)
