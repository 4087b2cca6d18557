# The skynet config that the project's scripts (the fixture tests and the
# skynet benchmarks) start skynet with. Sourced.
# skynet_config ROOT THREADS LOGGER START SERVICES [LUA_PATH [LUA_CPATH]]
# writes it on stdout: ROOT is the built skynet tree, START the first
# service, SERVICES the ';'-separated patterns searched before skynet's own
# service/, LUA_PATH and LUA_CPATH patterns searched after skynet's lualib/
# and luaclib/. A caller adds its own lines after it (a later line wins:
# the config is Lua, `luaservice = luaservice .. ...` extends one).
skynet_config() {
	cat <<EOC
root = "$1/"
thread = $2
logger = "$3"
harbor = 0
start = "$4"
bootstrap = "snlua bootstrap"
cpath = root.."cservice/?.so"
lualoader = root.."lualib/loader.lua"
luaservice = "$5;"..root.."service/?.lua"
lua_path = root.."lualib/?.lua;"..root.."lualib/?/init.lua${6:+;$6}"
lua_cpath = root.."luaclib/?.so${7:+;$7}"
EOC
}
