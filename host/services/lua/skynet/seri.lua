-- skynet.pack / skynet.unpack: nil, booleans, numbers, strings and tables
-- (without cycles), with string.pack. Messages stay plain byte strings.

local spack, sunpack = string.pack, string.unpack
local mtype = math.type

local seri = {}

local encode

local function encode_value(out, v, depth)
	local t = type(v)
	if t == "nil" then
		out[#out + 1] = "N"
	elseif t == "boolean" then
		out[#out + 1] = v and "T" or "F"
	elseif t == "number" then
		if mtype(v) == "integer" then
			out[#out + 1] = spack("<c1j", "I", v)
		else
			out[#out + 1] = spack("<c1n", "D", v)
		end
	elseif t == "string" then
		out[#out + 1] = spack("<c1s4", "S", v)
	elseif t == "table" then
		encode(out, v, depth)
	else
		error("skynet.pack: cannot pack a " .. t)
	end
end

function encode(out, tbl, depth)
	if depth > 32 then error("skynet.pack: table too deep (cycle?)") end
	out[#out + 1] = "{"
	for k, v in next, tbl do
		encode_value(out, k, depth + 1)
		encode_value(out, v, depth + 1)
	end
	out[#out + 1] = "}"
end

function seri.pack(...)
	local n = select("#", ...)
	local out = { spack("<I4", n) }
	for i = 1, n do
		encode_value(out, (select(i, ...)), 0)
	end
	return table.concat(out)
end

local decode

local function decode_value(s, pos)
	local tag = s:sub(pos, pos)
	if tag == "N" then return nil, pos + 1
	elseif tag == "T" then return true, pos + 1
	elseif tag == "F" then return false, pos + 1
	elseif tag == "I" then return sunpack("<j", s, pos + 1)
	elseif tag == "D" then return sunpack("<n", s, pos + 1)
	elseif tag == "S" then return sunpack("<s4", s, pos + 1)
	elseif tag == "{" then return decode(s, pos + 1)
	end
	error("skynet.unpack: bad message at byte " .. pos)
end

function decode(s, pos)
	local t = {}
	while s:sub(pos, pos) ~= "}" do
		local k, v
		k, pos = decode_value(s, pos)
		v, pos = decode_value(s, pos)
		if k == nil then error("skynet.unpack: nil key") end
		t[k] = v
	end
	return t, pos + 1
end

function seri.unpack(s)
	if s == nil or #s < 4 then return end
	local n, pos = sunpack("<I4", s)
	local r = {}
	for i = 1, n do
		r[i], pos = decode_value(s, pos)
	end
	return table.unpack(r, 1, n)
end

return seri
