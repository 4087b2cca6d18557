-- harness: the start service of a test run. Launches the service named by
-- the config's harness_test (one of skynet's test/ services, or one of ours),
-- then prints a line the test script waits for. The script ends the process.
local skynet = require "skynet"

skynet.start(function()
	local name = assert(skynet.getenv "harness_test", "config: harness_test missing")
	local args = skynet.getenv "harness_args"
	print("harness: launching " .. name)
	local ok, err
	if args then
		ok, err = pcall(skynet.newservice, name, args)
	else
		ok, err = pcall(skynet.newservice, name)
	end
	print(string.format("harness: %s returned %s", name, ok and "ok" or ("error " .. tostring(err))))
	-- A checker of ours run once the test's start returned (config: harness_after).
	local after = skynet.getenv "harness_after"
	if ok and after then
		skynet.newservice(after)
	end
end)
