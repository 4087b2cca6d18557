#!/bin/sh
# Installs the Debian packages skynet-mem needs, only those missing.
# Usage: scripts/install-deps.sh [extra package ...]
set -e
PKGS="build-essential cmake pkg-config libjemalloc-dev liblua5.4-dev lua5.4 libcmocka-dev libmicrohttpd-dev libjansson-dev prometheus curl clang libclang-rt-14-dev valgrind"
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
