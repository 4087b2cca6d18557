-- An allocation-heavy Lua program: binary trees and string building.
-- Prints a checksum that must not depend on the allocator underneath.
local function tree(depth)
	if depth == 0 then return {} end
	return { tree(depth - 1), tree(depth - 1) }
end

local function check(t)
	if t[1] == nil then return 1 end
	return 1 + check(t[1]) + check(t[2])
end

local sum = 0
for i = 1, 40 do
	sum = sum + check(tree(12))
end

local parts = {}
for i = 1, 20000 do
	parts[#parts + 1] = string.rep(string.char(65 + i % 26), i % 50) .. tostring(i)
end
local s = table.concat(parts, ",")
collectgarbage()
print(sum, #s)
