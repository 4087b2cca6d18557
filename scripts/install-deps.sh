#!/bin/sh
# Installs the Debian packages one use of skynet-mem needs, only those missing.
# Usage: scripts/install-deps.sh build|test|bench [extra package ...]
#   build  compile every part and its tests, run the demo (make, make demo)
#   test   build, plus the programs the tests drive: a browser, Prometheus,
#          tmux, real programs under the interposer, clang for the fuzzer,
#          google-pprof (reads the heap profile, as jeprof does) (make test)
#   bench  build, plus valgrind (callgrind) and perf (make bench-insns, bench-hotpath)
# The layer alone (cmake -DSKYNET_MEM_LUA=OFF -DSKYNET_MEM_HOST=OFF) needs only
# build-essential cmake libjemalloc-dev.
set -e
BUILD="build-essential cmake pkg-config libjemalloc-dev liblua5.4-dev lua5.4 libcmocka-dev libmicrohttpd-dev libjansson-dev libdw-dev"
TEST="$BUILD prometheus curl chromium tmux clang libclang-rt-14-dev linux-perf git sqlite3 perl python3 jq google-perftools"
BENCH="$BUILD valgrind linux-perf"
case "${1:-}" in
build) PKGS=$BUILD ;;
test) PKGS=$TEST ;;
bench) PKGS=$BENCH ;;
*) echo "usage: $0 build|test|bench [extra package ...]" >&2; exit 2 ;;
esac
shift
PKGS="$PKGS $*"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
