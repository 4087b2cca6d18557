#!/bin/bash
# An installed skynet-host serves the page from its install prefix
# (share/skynet-mem/web beside bin/), not from the source tree.
# Usage: page_installed.sh BUILD_DIR LUA_DIR
set -u
build=$1
LUA_DIR=$2
prefix=$(mktemp -d)
hostpid=""
cleanup() {
	[ -n "$hostpid" ] && kill "$hostpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$prefix"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$prefix/host.log" ] && tail -20 "$prefix/host.log"; exit 1; }
cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install"
[ -f "$prefix/share/skynet-mem/web/index.html" ] || fail "index.html not installed"
[ -x "$prefix/bin/skynet-host" ] || fail "skynet-host not installed"
"$prefix/bin/skynet-host" -p "$LUA_DIR/?.lua" -t 1 -H 0 -w "$prefix/ports" -s 30 idle >"$prefix/host.log" 2>&1 &
hostpid=$!
end=$((SECONDS + 20))
while ! grep -q '^page: ' "$prefix/host.log" 2>/dev/null; do
	[ $SECONDS -lt $end ] || fail "skynet-host did not start"
	kill -0 "$hostpid" 2>/dev/null || fail "skynet-host died"
	sleep 0.1
done
grep -q "^page: http://127.0.0.1:[0-9]*/ (files from $prefix/bin/../share/skynet-mem/web)" "$prefix/host.log" \
	|| fail "page not served from the prefix: $(grep '^page:' "$prefix/host.log")"
http=$(awk '/^http/ { print $2 }' "$prefix/ports")
curl -fsS "http://127.0.0.1:$http/" | cmp -s - "$prefix/share/skynet-mem/web/index.html" || fail "GET / is not the installed index.html"
curl -fsS "http://127.0.0.1:$http/app.js" | cmp -s - "$prefix/share/skynet-mem/web/app.js" || fail "GET /app.js"
echo PASS
