-- namer I: labels itself with awkward name I and stays.
local skynet = require "skynet"
local core = require "skynet.core"
local names = {
	"room 房间一二三四五六七八九",           -- 38 bytes of valid UTF-8
	"🎮 player 😀",                          -- 4-byte sequences
	'say "hi"',
	"C:\\path\\x",
	"two\nlines",
	"bad \xff\xfe end",                      -- invalid bytes
	"a" .. string.rep("房", 30),             -- 91 bytes: cut to a + 20 characters
	"cut \xe6\x88",                          -- a sequence missing its last byte
}
local i = math.tointeger(...)
skynet.start(function()
	core.label(names[i])
	skynet.dispatch("lua", function() end)
end)
