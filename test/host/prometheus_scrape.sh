#!/bin/bash
# A real Prometheus server (Debian's prometheus package), started on loopback
# in a temp dir, scrapes a running skynet-host; its query API must return the
# per-service series with the figures /metrics shows, every sample of a
# page whose service names are CJK, emoji, quotes, backslashes, newlines and
# invalid bytes (promtool must accept the page too), and it evaluates the
# rules of deploy/prometheus (a recorded series with the host's figure).
# Usage: prometheus_scrape.sh SKYNET_HOST LUA_DIR RULES_FILE
set -u
HOST_BIN=$1
LUA_DIR=$2
RULES=$3
DEADLINE=90   # seconds for the whole test

fail() { echo "FAIL: $*"; for f in host.log prom.log; do [ -f "$tmp/$f" ] && { echo "--- $f"; tail -20 "$tmp/$f"; }; done; exit 1; }

command -v prometheus >/dev/null || { echo "FAIL: prometheus not installed (scripts/install-deps.sh test installs it)"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl not installed"; exit 1; }

tmp=$(mktemp -d)
hostpid=""
prompid=""
cleanup() {
	[ -n "$prompid" ] && kill "$prompid" 2>/dev/null
	[ -n "$hostpid" ] && kill "$hostpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
end=$((SECONDS + DEADLINE))
. "$(dirname "$0")/../deploy/prometheus.sh"

"$HOST_BIN" -p "$LUA_DIR/?.lua" -t 2 -H 0 -w "$tmp/ports" -s $((DEADLINE + 10)) scrape >"$tmp/host.log" 2>&1 &
hostpid=$!
while ! grep -q '^http' "$tmp/ports" 2>/dev/null; do
	[ $SECONDS -lt $end ] || fail "skynet-host did not write its ports"
	kill -0 "$hostpid" 2>/dev/null || fail "skynet-host died"
	sleep 0.1
done
http=$(awk '/^http/ { print $2 }' "$tmp/ports")

# The alloc service's handle, once it is on /metrics.
line=""
while [ -z "$line" ]; do
	[ $SECONDS -lt $end ] || fail "no alloc series on /metrics"
	line=$(curl -fsS "http://127.0.0.1:$http/metrics" | grep '^skynet_mem_service_blocks{.*name="alloc"}')
	[ -n "$line" ] || sleep 0.1
done
handle=$(echo "$line" | sed 's/.*handle=":\([0-9a-f]*\)".*/\1/')
blocks=$(echo "$line" | awk '{ print $2 }')
echo "host serves on $http: alloc is :$handle with $blocks blocks"

# Every awkward name on the page (the 8 namers running), and promtool accepts it.
while [ "$(curl -fsS "http://127.0.0.1:$http/metrics" | grep -c '^skynet_mem_service_c_bytes{')" -lt 13 ]; do
	[ $SECONDS -lt $end ] || fail "the namer services never all showed on /metrics"
	sleep 0.1
done
curl -fsS "http://127.0.0.1:$http/metrics" >"$tmp/page"
promtool check metrics <"$tmp/page" >"$tmp/promtool.log" 2>&1 || { cat "$tmp/promtool.log"; fail "promtool rejects /metrics"; }
samples=$(grep -vc '^#' "$tmp/page")
echo "/metrics: $samples samples, promtool accepts it"

prom_start "$http" 1s "$RULES"
prom_ready
echo "prometheus on 127.0.0.1:$pport"

# figure METRIC: the host's figure of METRIC for the alloc service, now
figure() {
	curl -fsS "http://127.0.0.1:$http/metrics" | grep "^skynet_mem_service_$1{handle=\":$handle\"" | awk '{ print $2 }'
}
# Query until the scraped series appears with the host's figure (read after
# each answer: the service may still have been starting before).
blocks_match() {
	blocks=$(figure blocks)
	grep -q '"name":"alloc"' <<<"$answer" && grep -q "\"$blocks\"\]" <<<"$answer"
}
prom_until "prometheus never returned the series" "skynet_mem_service_blocks{handle=\":$handle\"}" blocks_match
echo "query: $answer"
# every per-service metric is there for the service
for m in c_bytes lua_bytes blocks peak_bytes limit_bytes; do
	prom_has "skynet_mem_service_$m{handle=\":$handle\",name=\"alloc\",job=\"skynet\"}" ||
		fail "no skynet_mem_service_$m series: $answer"
done
prom_has skynet_mem_c_bytes || fail "no skynet_mem_c_bytes total: $answer"

# Every sample of the page ingested: the target is up and the last scrape
# kept as many samples as the page has (no line refused).
a=$(prom_query 'up{job="skynet"}')
echo "$a" | grep -q '"1"\]' || fail "target not up: $a"
a=$(prom_query 'scrape_samples_post_metric_relabeling{job="skynet"}')
echo "$a" | grep -q "\"$samples\"\]" || fail "prometheus kept other than $samples samples: $a"
t=$(curl -fsS "http://127.0.0.1:$pport/api/v1/targets")
echo "$t" | grep -q '"lastError":""' || fail "scrape error: $t"
# Each awkward name is a series (PromQL string escapes; U+FFFD for invalid bytes).
for name in 'room 房间一二三四五六七八九' '🎮 player 😀' 'say \"hi\"' 'C:\\path\\x' 'two\nlines' \
	'bad \ufffd\ufffd end' 'a房房房房房房房房房房房房房房房房房房房房' 'cut \ufffd\ufffd'; do
	prom_has "skynet_mem_service_c_bytes{job=\"skynet\",name=\"$name\"}" || fail "no series named $name: $answer"
done
echo "every awkward name ingested"
# The rules are loaded and evaluated: every group healthy, and the recorded
# C + Lua bytes of the alloc service equal to the host's figures.
bytes_match() {
	c=$(figure c_bytes)
	lua=$(figure lua_bytes)
	grep -q "\"$((c + lua))\"\]" <<<"$answer"
}
prom_until "no recorded skynet_mem:service_bytes" "skynet_mem:service_bytes{handle=\":$handle\"}" bytes_match
echo "recorded: $answer"
prom_rules_ok
echo "PASS"
