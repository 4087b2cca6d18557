-- scrape: what prometheus_scrape.sh scrapes: alloc 5 300 and the awkward names.
local skynet = require "skynet"
skynet.start(function()
	skynet.newservice("alloc", 5, 300)
	skynet.newservice("names")
	skynet.dispatch("lua", function() end)
end)
