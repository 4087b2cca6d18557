-- The stock interpreter, started with no special environment, loads the
-- module and can call every function (over jemalloc the loader restarts it
-- once with room for jemalloc's TLS, so this file's require comes first).
local memory = require "skynet.memory"
assert(os.getenv("LD_PRELOAD") == nil, "must run without LD_PRELOAD")
assert(memory.jemalloc == EXPECT_JEMALLOC, "wrong build flavour")
assert(math.type(memory.total()) == "integer")
assert(math.type(memory.block()) == "integer")
assert(type(memory.info()) == "table")
assert(math.type(memory.current()) == "integer")
assert(memory.stat(0x7fff0001) == nil)
assert(type(memory.top(5)) == "table")
local a = memory.snapshot()
local b = memory.snapshot()
assert(type(memory.diff(a, b)) == "table")
-- no service owns anything here: a limit is refused, and makes no record
local ok, err = pcall(memory.setlimit, 0x7fff0002, 4096)
assert(not ok and err:find("setlimit: no service :7fff0002", 1, true), err)
assert(memory.getlimit(0x7fff0002) == 0 and memory.stat(0x7fff0002) == nil)
assert(not pcall(memory.setlimit, 0x7fff0002, -1))
if EXPECT_JEMALLOC then
	assert(type(memory.jestat()) == "table")
	assert(memory.mallctl("arenas.page") >= 4096)
else
	assert(memory.jestat()["stats.allocated"] == 0)
end
print("plain lua5.4: ok")
