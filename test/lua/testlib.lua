-- A minimal test harness for the lua5.4 scripts: named cases, error checks,
-- a summary, and a non-zero exit status when any case fails.
local T = {}
local run, failed = 0, 0

function T.case(name, fn)
	run = run + 1
	local ok, err = xpcall(fn, debug.traceback)
	if ok then
		print("ok     " .. name)
	else
		failed = failed + 1
		print("FAILED " .. name .. "\n" .. tostring(err))
	end
end

-- fn(...) must raise an error whose message contains text (plain find).
function T.raises(text, fn, ...)
	local ok, err = pcall(fn, ...)
	assert(not ok, "expected an error containing '" .. text .. "', got success")
	err = tostring(err)
	assert(err:find(text, 1, true), ("error '%s' does not contain '%s'"):format(err, text))
	return err
end

function T.eq(got, want, what)
	if got ~= want then
		error(("%s: got %s, want %s"):format(what or "value", tostring(got), tostring(want)), 2)
	end
end

function T.done()
	print(("%d cases, %d failed"):format(run, failed))
	os.exit(failed == 0 and 0 or 1)
end

return T
