-- An allocation-heavy Lua program, shared by test_lua_alloc.c and
-- bench/bench_lua.c: binary trees (many small tables, short-lived and
-- long-lived) and string building (strings of every size, concatenation,
-- pattern matching, a growing hash table). Each function returns a checksum.
local M = {}

local function tree(depth)
	if depth == 0 then
		return {}
	end
	depth = depth - 1
	return { tree(depth), tree(depth) }
end

local function nodes(t)
	if t[1] then
		return 1 + nodes(t[1]) + nodes(t[2])
	end
	return 1
end

-- Trees of every even depth up to maxdepth, deeper ones built fewer times,
-- while one long-lived tree stays reachable.
function M.trees(maxdepth)
	local long = tree(maxdepth)
	local sum = 0
	for depth = 4, maxdepth, 2 do
		for _ = 1, 1 << (maxdepth - depth + 2) do
			sum = sum + nodes(tree(depth))
		end
	end
	return sum + nodes(long)
end

-- n records formatted, joined, split again and counted.
function M.strings(n)
	local parts = {}
	for i = 1, n do
		parts[#parts + 1] = string.format("%d:%s", i % 997, string.rep("ab", i % 50))
	end
	local text = table.concat(parts, ",")
	local counts = {}
	for word in text:gmatch("[^,]+") do
		local key = word:upper()
		counts[key] = (counts[key] or 0) + 1
	end
	local distinct = 0
	for _ in pairs(counts) do
		distinct = distinct + 1
	end
	local squeezed = text:gsub("abab", "x")
	return distinct + #squeezed
end

-- One full run at a scale: 1 is about a tenth of a second on a desktop core.
function M.run(scale)
	scale = scale or 1
	local depth = 12 + (scale >= 4 and 2 or 0)
	local sum = 0
	for _ = 1, scale do
		sum = sum + M.trees(depth) + M.strings(20000)
	end
	return sum
end

return M
