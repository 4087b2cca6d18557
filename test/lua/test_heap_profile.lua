-- skynet.memory's heap profile functions (docs/profile.md): the text, the
-- file, the folded stacks, the rates, the sites, and their errors.
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local T = require "testlib"
local memory = require "skynet.memory"
local memtest = require "memtest"

local h = 0x5150

T.case("profile_sample: get and set the mean, 0 is off", function()
	local old = memory.profile_sample(4096)
	T.eq(math.type(old), "integer", "previous mean")
	T.eq(memory.profile_sample(), 4096, "mean now")
	T.raises("bytes must be >= 0", memory.profile_sample, -1)
	T.eq(memory.profile_service_sample(h), nil, "no rate of its own")
	T.eq(memory.profile_service_sample(h, 0), nil, "set: none before")
	T.eq(memory.profile_service_sample(h, nil), 0, "removed: it was 0")
	T.eq(memory.profile_service_sample(h), nil, "removed")
	T.raises("bytes must be >= 0", memory.profile_service_sample, h, -5)
end)

T.case("profile: a service's live samples, as text, to a file, folded", function()
	memory.profile_sample(4096)
	local blocks = {}
	for i = 1, 64 do
		blocks[i] = memtest.malloc(h, 65536)
	end
	local text = memory.profile(h)
	local folded = memory.profile(":" .. string.format("%08x", h), nil, "folded")
	local sites = memory.profile_sites(h, 3)
	for i = 1, #blocks do
		memtest.free(blocks[i])
	end
	local header = text:match("^heap profile: *(%d+): *(%d+)")
	T.eq(header ~= nil, true, "heap profile header")
	T.eq(text:find("\nMAPPED_LIBRARIES:\n", 1, true) ~= nil, true, "the maps follow")
	if EXPECT_CHECK then
		T.eq(header, "0", "the check build samples nothing")
		T.eq(folded, "", "no stacks")
		return
	end
	-- 64 blocks of 64 KiB at a 4 KiB mean: every one sampled.
	T.eq(tonumber(header) >= 60, true, "estimated blocks " .. header)
	-- memtest.so's static lmalloc, named from the module's symbol table
	T.eq(folded:find(";lmalloc+0x", 1, true) ~= nil, true, "the allocating function in the folded stacks")
	T.eq(folded:match(" (%d+)\n") ~= nil, true, "folded lines end in bytes")
	T.eq(sites:find("^lmalloc%+0x") ~= nil, true, "site named: " .. sites)
	local path = os.tmpname()
	T.eq(memory.profile(h, path), true, "written")
	local f = assert(io.open(path))
	T.eq(f:read("l"):match("^heap profile:") ~= nil, true, "file header")
	f:close()
	os.remove(path)
	-- Freed: nothing left.
	T.eq(memory.profile(h):match("^heap profile: *(%d+)"), "0", "no sample after the frees")
	T.eq(memory.profile("all"):match("^heap profile:") ~= nil, true, "all services")
end)

T.case("profile: errors", function()
	local ok, err = memory.profile(h, "/nonexistent-dir/x.heap")
	T.eq(ok, nil, "fail")
	T.eq(err:find("No such file", 1, true) ~= nil, true, err)
	T.raises("empty path", memory.profile, h, "")
	T.raises("invalid option 'svg'", memory.profile, h, nil, "svg")
	T.raises("handle expected", memory.profile, "everything")
	T.raises("handle out of range", memory.profile, -1)
end)

T.done()
