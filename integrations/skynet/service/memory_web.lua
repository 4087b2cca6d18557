-- memory_web: the layer's HTTP views inside skynet, over skynet's own socket
-- and http libraries (no thread of its own). Start it from the bootstrap:
--   skynet.newservice("memory_web", "127.0.0.1:9120" [, connection timeout seconds, 10])
-- GET /metrics[?top=N]  Prometheus text (the project's host's names and labels)
-- GET /memory.json      every live service's record
-- GET /history.json[?since=MS]  the ring this service keeps (a sample a second)
-- GET /debug/heap?service=:h|.name|all[&format=heap|folded]  the sampled heap
--                       profile (the text jeprof reads), as the host's
-- GET /                 the live page (its files beside this one, memory_web/)
-- The text is rendered by skynet.memory's C (the host's renderer). Installed
-- by skynet-mem's integrations/skynet/apply.sh.
local skynet = require "skynet"
local socket = require "skynet.socket"
local httpd = require "http.httpd"
local sockethelper = require "http.sockethelper"
local urllib = require "http.url"
local memory = require "skynet.memory"
local views = require "skynet.memory_views"

local address, timeout_arg = ...
local CONN_TIMEOUT = 1000   -- centiseconds a connection may live (half-open, never reading)
local MAX_CONNS = 256       -- connections at once; the next ones are closed at once
local REQUEST_MAX = 8192    -- bytes of a request's body
local ASK_TIMEOUT = 100     -- centiseconds for the services' own figures (debug MEM, STAT)
local SAMPLE_CS = 100       -- the history's interval
local MAX_FILE = 1 << 20

-- "IP:PORT" (IPv4 literal, port 0..65535; 0: any free port)
local function parse_address(s)
	local ip, port = tostring(s or ""):match("^(%d+%.%d+%.%d+%.%d+):(%d+)$")
	local ok = ip ~= nil and tonumber(port) <= 65535
	for b in (ip or ""):gmatch("%d+") do
		ok = ok and tonumber(b) <= 255
	end
	if not ok then
		error(string.format("memory_web: bad address '%s' (want IP:PORT, e.g. 127.0.0.1:9120)", tostring(s)), 0)
	end
	return ip, tonumber(port)
end
local ip, port = parse_address(address)
-- an optional second argument: the seconds a connection may live (1..3600)
if timeout_arg ~= nil then
	local s = tostring(timeout_arg):match("^%d+$") and tonumber(timeout_arg)
	if not s or s < 1 or s > 3600 then
		error(string.format("memory_web: bad connection timeout '%s' (want seconds, 1..3600)", tostring(timeout_arg)), 0)
	end
	CONN_TIMEOUT = s * 100
end

-- The page's files: the folder memory_web/ beside this service's file.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local web_dir = here .. "/memory_web"

local types = {
	html = "text/html; charset=utf-8",
	js = "text/javascript; charset=utf-8",
	css = "text/css; charset=utf-8",
	svg = "image/svg+xml",
}

-- Plain names only ([a-z0-9_-]+.ext), so no path leaves the folder.
local function asset(path)
	local name = path == "/" and "index.html" or path:match("^/([a-z0-9_%-]+%.[a-z]+)$")
	local ext = name and name:match("%.(%a+)$")
	if not (ext and types[ext]) then
		return nil
	end
	local f = io.open(web_dir .. "/" .. name, "rb")
	if not f then
		return 404, "404 not found\n"
	end
	local body = f:read(MAX_FILE + 1)
	f:close()
	if not body or #body > MAX_FILE then
		return 404, "404 not found\n"
	end
	return 200, body, types[ext]
end

-- Names and the services' own figures, asked when a view is asked for (and
-- by the sampler when a service it ranks has none yet). Handles the launcher
-- does not know (C services, skynet's threads) are remembered as nameless.
local names, nameless = {}, {}
local function refresh_names()
	names = views.launched()
	for h in pairs(nameless) do
		names[h] = names[h] or ""
	end
	return names
end

local function figures()
	local launched = refresh_names()
	local f = views.figures(launched, ASK_TIMEOUT)
	f.names = launched
	f.limit_refusals = true   -- the layer counts them (skynet_mem_limit_refusals_total)
	-- the answers' buffers are freed (charged to the services that answered)
	-- when this dispatch ends: read the records after it
	skynet.yield()
	return f
end

local history = memory.history(600)
local started = skynet.now()
local function now_ms()
	return (skynet.now() - started) * 10
end

-- One sample a second; names asked of the launcher only when a service in
-- it has none yet.
local function sampler()
	local unnamed = history:sample(now_ms(), names)
	if unnamed then
		refresh_names()
		for _, h in ipairs(unnamed) do
			if not names[h] then
				nameless[h] = true
				names[h] = ""
			end
		end
		history:rename(names)
	end
	skynet.timeout(SAMPLE_CS, sampler)
end

local function count_arg(q, key)
	local s = q and q[key]
	if s == nil then
		return 0
	end
	return s:match("^%d+$") and math.tointeger(tonumber(s)) or nil
end

-- /debug/heap: the host's answers (400 for a bad service or format), and
-- 404 for a service the layer has no record of.
local function heap(q)
	local svc, format = q.service, q.format or "heap"
	if format ~= "heap" and format ~= "folded" then
		return 400, "400 bad request: format wants heap or folded\n"
	end
	local h = svc == "all" and "all" or views.parse(svc)
	if h == nil and not (svc and svc:match("^%.[%w_]+$")) then
		return 400, "400 bad request: service wants :0100000a, 0100000a, .name or all\n"
	end
	if h == nil then
		return 404, "404 no service of that name\n"
	elseif h ~= "all" and not memory.stat(h) then
		return 404, "404 no service with that handle\n"
	end
	if memory.check then
		return 501, "501 the MEMORY_CHECK build samples nothing (its leak lists name every block's site)\n"
	end
	return 200, memory.profile(h, nil, format)
end

local function route(method, url)
	if method ~= "GET" and method ~= "HEAD" then
		return 405, "405 method not allowed: use GET\n", nil, { allow = "GET, HEAD" }
	end
	local path, query = urllib.parse(url)
	local q = query and urllib.parse_query(query) or {}
	if path == "/metrics" then
		local top = count_arg(q, "top")
		if not top then
			return 400, "400 bad request: top wants a count >= 0 (0: every service)\n"
		end
		return 200, memory.metrics(figures(), top), "text/plain; version=0.0.4; charset=utf-8"
	elseif path == "/memory.json" then
		return 200, memory.json(figures()), "application/json"
	elseif path == "/history.json" then
		local since = count_arg(q, "since")
		if not since then
			return 400, "400 bad request: since wants milliseconds, e.g. /history.json?since=12000\n"
		end
		return 200, history:json(since, now_ms(), names), "application/json"
	elseif path == "/debug/heap" then
		return heap(q)
	end
	local code, body, ctype = asset(path)
	if code then
		return code, body, ctype or "text/plain; charset=utf-8"
	end
	return 404, "404 not found: try /, /metrics, /memory.json, /history.json or /debug/heap?service=:h\n"
end

local conns = 0

local function serve(id)
	local code, url, method = httpd.read_request(sockethelper.readfunc(id), REQUEST_MAX)
	if not code then
		return   -- closed or broken before a whole request
	end
	local body, ctype, extra
	if code ~= 200 then   -- httpd's own answer to a malformed request (413, ...)
		body = string.format("%d bad request\n", code)
	else
		local ok
		ok, code, body, ctype, extra = pcall(route, method, url)
		if not ok then
			skynet.error("memory_web: " .. tostring(code))
			code, body = 500, "500 the view cannot be built\n"
		end
	end
	local header = { ["content-type"] = ctype or "text/plain; charset=utf-8", connection = "close",
		["cache-control"] = "no-store" }
	for k, v in pairs(extra or {}) do
		header[k] = v
	end
	httpd.write_response(sockethelper.writefunc(id), code, method == "HEAD" and "" or body, header)
end

local function accept(id)
	if conns >= MAX_CONNS then
		socket.start(id)
		socket.close(id)
		return
	end
	conns = conns + 1
	socket.start(id)
	local closed = false
	-- Whatever the client does (half a request, never reading the answer),
	-- the connection goes after CONN_TIMEOUT.
	skynet.timeout(CONN_TIMEOUT, function()
		if not closed then
			socket.shutdown(id)
		end
	end)
	local ok, err = pcall(serve, id)
	if not ok and err ~= sockethelper.socket_error then
		skynet.error("memory_web: " .. tostring(err))
	end
	socket.close(id)
	closed = true
	conns = conns - 1
end

skynet.start(function()
	local ok, listen, bound_ip, bound_port = pcall(socket.listen, ip, port)
	if not ok then
		error(string.format("memory_web: cannot listen on %s: %s", address, tostring(listen)), 0)
	end
	skynet.error(string.format("memory_web: serving http://%s:%d/ (page files from %s)", bound_ip or ip,
		bound_port or port, web_dir))
	socket.start(listen, function(id)
		skynet.fork(accept, id)
	end)
	refresh_names()
	sampler()
end)
