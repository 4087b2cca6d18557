# A real Prometheus (Debian's prometheus) on loopback, scraping a skynet-mem
# /metrics with deploy/prometheus's rules: sourced (bash) by
# test/host/prometheus_scrape.sh (skynet-host) and test/skynet/views_web.sh
# (skynet's memory_web), which ask it the same way. The caller sets tmp (its
# temp folder) and end (its deadline, in $SECONDS), defines fail MESSAGE
# (which exits), and kills $prompid when it ends.

prom_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# prom_start TARGET INTERVAL RULES: prometheus in the background (pid
# $prompid) on a free loopback port ($pport), scraping 127.0.0.1:TARGET and
# evaluating the rules file RULES every INTERVAL, in a data folder of its own;
# prom_ready waits for it.
prom_start() {
	local i p
	prom_args=("$@")
	prom_starts=$((${prom_starts:-0} + 1))
	pport=""
	for i in 1 2 3 4 5; do
		p=$((20000 + RANDOM % 40000))
		prom_port_free "$p" && { pport=$p; break; }
	done
	[ -n "$pport" ] || fail "no free port for prometheus"
	cp "$3" "$tmp/prom-rules.yml" || fail "no rules file $3"
	cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: $2
  scrape_timeout: $2
  evaluation_interval: $2
rule_files:
  - prom-rules.yml
scrape_configs:
  - job_name: skynet
    static_configs:
      - targets: ['127.0.0.1:$1']
YML
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data$prom_starts" \
		--web.listen-address="127.0.0.1:$pport" >"$tmp/prom.log" 2>&1 &
	prompid=$!
}

# prom_ready: waits, within the deadline, until prometheus says it is ready;
# when it ended instead (its port was taken meanwhile), starts it again on
# another port, 5 starts in all.
prom_ready() {
	local n
	for n in 1 2 3 4 5; do
		while kill -0 "$prompid" 2>/dev/null && ! curl -fs -m 5 "http://127.0.0.1:$pport/-/ready" >/dev/null; do
			[ $SECONDS -lt $end ] || fail "prometheus not ready"
			sleep 0.1
		done
		kill -0 "$prompid" 2>/dev/null && return 0
		[ "$n" -lt 5 ] && prom_start "${prom_args[@]}"
	done
	fail "could not start prometheus"
}

# prom_query PROMQL: the query API's answer (JSON).
prom_query() { curl -fsS -m 5 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1"; }

# prom_has PROMQL: true when the answer holds a series; the answer (or curl's
# error) stays in $answer for the caller's checks and messages.
prom_has() {
	answer=$(prom_query "$1" 2>&1)
	grep -q '"result":\[{' <<<"$answer"
}

# prom_until WHAT PROMQL [TEST...]: asks again, within the deadline, until the
# answer holds a series and TEST (a command that reads $answer; none: true)
# succeeds; at the deadline fails naming WHAT and the last answer.
prom_until() {
	local what=$1 query=$2
	shift 2
	until prom_has "$query" && "${@:-true}"; do
		[ $SECONDS -lt $end ] || fail "timed out: $what; last answer: $answer"
		sleep 0.2
	done
}

# prom_rules_ok: deploy/prometheus's two rule groups and its near-limit alert
# are loaded, and no rule fails to evaluate.
prom_rules_ok() {
	local rules g
	rules=$(curl -fsS -m 5 "http://127.0.0.1:$pport/api/v1/rules" 2>&1)
	for g in skynet-mem-recording skynet-mem-alerts; do
		grep -q "\"name\":\"$g\"" <<<"$rules" || fail "rule group $g not loaded: $rules"
	done
	grep -q '"name":"SkynetMemServiceNearLimit"' <<<"$rules" || fail "alerts not loaded: $rules"
	! grep -q '"health":"err"' <<<"$rules" || fail "a rule failed to evaluate: $rules"
}
