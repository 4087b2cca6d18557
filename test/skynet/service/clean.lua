-- clean: a service that makes nothing it keeps (churn launches and kills it).
local skynet = require "skynet"
skynet.start(function() end)
