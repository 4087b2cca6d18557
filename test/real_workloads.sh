# The workloads that the real-program tests run under the layer's interposer,
# shared by the check build's (check/real/run_real_program.sh) and the guard's
# (layer/guard/run_guarded.sh). Sourced; the current folder is scratch.
# real_workload NAME RUNNER: runs NAME's commands through the shell function
# RUNNER (which preloads the library and judges the run); returns 1 when NAME
# is not a shared workload (git and the demo differ between the two tests).
real_workload() {
	case $1 in
	python3)
		cat >work.py <<'PY'
import threading, json, queue
q = queue.Queue()
def work(k):
    d = {}
    for i in range(20000):
        d[str(i) * (k + 1)] = [i] * (i % 7)
    q.put(len(json.dumps(list(d.keys())[:500])))
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(sum(q.get() for _ in ts))
PY
		"$2" /usr/bin/python3 work.py
		;;
	sqlite3)
		"$2" sqlite3 :memory: "create table t(a integer primary key, b text);
			with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000)
			insert into t(b) select printf('%08d', x) from c;
			create index tb on t(b); select count(*), max(b), sum(length(b)) from t; vacuum;"
		;;
	perl)
		"$2" perl -e 'my %h; $h{$_} = [($_) x ($_ % 5)] for 1 .. 50000;
			my @k = sort { $a <=> $b } keys %h; print scalar(@k), " ", join(",", @k[0..9]), "\n"'
		;;
	*)
		return 1
		;;
	esac
}
