#!/bin/sh
# skynet-host's numeric flags and the demo's numeric variables: a malformed or
# out-of-range number is refused with a message naming it (exit 2), never
# read as atoi would (0: a free port, every core, no timeout).
# Usage: host_flags.sh SKYNET_HOST LUA_DIR [DEMO_SERVER]
set -u
HOST_BIN=$1
LUA_DIR=$2
DEMO_BIN=${3:-}
fails=0

# refused WHAT EXPECTED_TEXT COMMAND...: exits 2 within 10 s, stderr has the text
refused() {
	what=$1 text=$2
	shift 2
	err=$(timeout 10 "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 2 ] || ! printf '%s\n' "$err" | grep -qF -- "$text"; then
		echo "FAIL: $what: exit $rc, said '$err' (expected exit 2 and '$text')"
		fails=$((fails + 1))
	else
		echo "ok: $what: $err"
	fi
}

host() { refused "skynet-host $*" "$EXPECT" "$HOST_BIN" -p "$LUA_DIR/?.lua" "$@" idle; }
EXPECT="-t 'abc': want a whole number from 0 to 1024"; host -t abc
EXPECT="-t '2k': want a whole number"; host -t 2k
EXPECT="-c '70000': want a whole number from 0 to 65535"; host -c 70000
EXPECT="-H '-1': want a whole number from 0 to 65535"; host -H -1
EXPECT="-H '': want a whole number"; host -H ""
EXPECT="-i '0': want a whole number from 1 to"; host -i 0
EXPECT="-n ' 3x': want a whole number"; host -n " 3x"
EXPECT="-W '99999999999999999999': want a whole number"; host -W 99999999999999999999
EXPECT="-s '1.5': want a whole number from 0 to"; host -s 1.5

# The numbers it takes still work: one second, then a clean exit.
timeout 20 "$HOST_BIN" -p "$LUA_DIR/?.lua" -t 2 -c 0 -n 3 -i 5 -s 1 idle >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: skynet-host with good numbers exited $rc"; fails=$((fails + 1)); }

if [ -n "$DEMO_BIN" ]; then
	refused "DEMO_SECONDS=abc" "DEMO_SECONDS='abc': want a whole number from 0 to" env DEMO_SECONDS=abc "$DEMO_BIN"
	refused "DEMO_HTTP_PORT=80O2" "DEMO_HTTP_PORT='80O2': want a whole number from 0 to 65535" \
		env DEMO_HTTP_PORT=80O2 DEMO_SECONDS=1 "$DEMO_BIN"
fi

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "host_flags: every malformed number refused"
