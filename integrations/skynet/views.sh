# The operator's views in skynet (sourced by apply.sh; kept apart from the
# layer's own patches): the layer's commands in skynet's debug console, the
# memory_web service and the live page's files.
#   views_recognise   before anything is written: the pristine debug_console.lua
#                     must have the lines the console's extension relies on
#   views_install     after the layer's files: writes the views' files
#   views_revert      after --revert removed the files: the folders it made
# Uses apply.sh's src, once, die, install_file, STAGE, REPO, HERE, SKYNET_DIR;
# adds to its PATCHED (a file it rewrites) and ADDED (files --revert removes).

VIEWS_CONSOLE=service/debug_console.lua
PATCHED="$PATCHED $VIEWS_CONSOLE"
ADDED="$ADDED lualib-src/lua-memory-views.c lualib-src/mem-views.c lualib-src/mem-views.h
lualib-src/mem-history.c lualib-src/mem-history.h lualib-src/mem-utf8.c lualib-src/mem-utf8.h lualib/skynet/memory_views.lua lualib/skynet/memory_console.lua
service/memory_web.lua service/memory_web/index.html service/memory_web/app.js service/memory_web/style.css"

views_recognise() {
	[ -f "$(src $VIEWS_CONSOLE)" ] || die "$SKYNET_DIR is not a skynet checkout: $VIEWS_CONSOLE is missing"
	once $VIEWS_CONSOLE '^local COMMAND = {}$' "the console's command table"
	once $VIEWS_CONSOLE '^function COMMAND\.help()$' "the console's help"
	once $VIEWS_CONSOLE '^function COMMAND\.stat(ti)$' "the console's stat"
	once $VIEWS_CONSOLE '^function COMMAND\.info(address, \.\.\.)$' "the console's info"
	once $VIEWS_CONSOLE 'ok, list = pcall(cmd, table\.unpack(split,2))' "the console's command call"
	once $VIEWS_CONSOLE 'print("<CMD Error>")' "the console's error answer"
	if grep -q 'memory_console' "$(src $VIEWS_CONSOLE)"; then
		die "$SKYNET_DIR is not a skynet tree apply.sh knows: $VIEWS_CONSOLE already mentions memory_console"
	fi
}

# The live page's files: the project's host's own (one copy for both hosts).
views_web_dir() {
	for d in "$REPO/host/views/web" "$REPO/host/web" "$REPO/service-src/web"; do
		if [ -f "$d/index.html" ]; then echo "$d"; return 0; fi
	done
	die "internal: the live page's files (index.html) are not in $REPO"
}

views_install() {
	# skynet's console, with one line at its end that adds the layer's commands
	# to its COMMAND table (the table is complete by then).
	cp "$ORIG/$VIEWS_CONSOLE" "$STAGE/debug_console.lua"
	printf '\n-- skynet-mem (integrations/skynet/apply.sh): the layer'"'"'s commands\nrequire "skynet.memory_console"(COMMAND)\n' \
		>>"$STAGE/debug_console.lua"
	install_file "$STAGE/debug_console.lua" $VIEWS_CONSOLE
	mkdir -p "$SKYNET_DIR/lualib/skynet" "$SKYNET_DIR/service/memory_web"
	for f in memory_views.lua memory_console.lua; do
		install_file "$HERE/lualib/skynet/$f" lualib/skynet/$f
	done
	install_file "$HERE/service/memory_web.lua" service/memory_web.lua
	web=$(views_web_dir)
	for f in index.html app.js style.css; do
		install_file "$web/$f" service/memory_web/$f
	done
}

# --revert: the folders views_install made, when nothing else is in them
# (skynet's own lualib/skynet always has files: it stays).
views_revert() {
	for d in service/memory_web lualib/skynet lualib; do
		rmdir "$SKYNET_DIR/$d" 2>/dev/null || true
	done
}
