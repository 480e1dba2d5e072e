#!/usr/bin/env bash
# t_real_python.sh - python3 behaves the same with and without the profiler (stdout,
# stderr, exit status, for a run that succeeds and one that raises), and yields valid
# profiles.
. "$(dirname "$0")/lib/common.sh"
need_preload
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || skip "no python3"
make_tmp

same_behaviour "$tmp/a" "$py" -c '
import collections, hashlib, json
d = [{"k%d" % i: list(range(i % 50)), "s": "x" * (i % 300)} for i in range(20000)]
s = json.dumps(d, sort_keys=True)
c = collections.Counter(len(x) for x in s.split(","))
print(len(s), hashlib.sha256(s.encode()).hexdigest(), sorted(c.items())[:5])
' || fail "python3 behaves differently"
cat "$tmp/pre.out"
check_profiles "$tmp/a" || exit 1

same_behaviour "$tmp/b" "$py" -c '
import sys
x = {i: str(i) * 3 for i in range(10000)}
print(len(x))
raise SystemExit(len(x) % 7 + 2)' || fail "python3 exit status run behaves differently"
echo "status $last_status"
same_behaviour "$tmp/c" "$py" -c 'print("before"); {}["missing"]' || fail "python3 exception run behaves differently"
echo "status $last_status"
check_profiles "$tmp/b" && check_profiles "$tmp/c" || exit 1
echo "ok"
