#!/usr/bin/env bash
# t_real_gcc.sh - gcc (driver, cc1, as, collect2, ld: fork/vfork/exec chains) behaves
# the same with and without the profiler: identical .o and executable, exit status, and
# for a failing compile identical diagnostics; every process writes a valid profile.
. "$(dirname "$0")/lib/common.sh"
need_preload
command -v gcc >/dev/null || skip "no gcc"
make_tmp

cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
struct node { struct node *next; int v; };
static int sum(const struct node *n) { int s = 0; for (; n; n = n->next) s += n->v; return s; }
int main(int argc, char **argv)
{
	struct node *h = NULL;
	for (int i = 0; i < 1000 + argc; i++) {
		struct node *n = malloc(sizeof *n);
		n->v = i; n->next = h; h = n;
	}
	printf("%s %d\n", argv[0] ? "sum" : "", sum(h));
	return 0;
}
C
printf 'int main(void) { return undeclared_thing + ; }\n' >"$tmp/bad.c"

cd "$tmp" || fail "cd"
mkdir n p prof
for side in n p; do
	if [ $side = n ]; then run=(env); else run=(env AUDIOPROF_OUT="$tmp/prof/p.%p.json" LD_PRELOAD="$PRELOAD"); fi
	"${run[@]}" gcc -c -O2 -g -Wall prog.c -o $side/prog.o >$side.out1 2>$side.err1; echo $? >$side.rc1
	"${run[@]}" gcc -O2 -Wall prog.c -o $side/prog >$side.out2 2>$side.err2; echo $? >$side.rc2
	"${run[@]}" gcc -c -Wall bad.c -o $side/bad.o >$side.out3 2>$side.err3; echo $? >$side.rc3
done
for k in 1 2 3; do
	cmp -s n.rc$k p.rc$k || fail "gcc run $k: status $(cat n.rc$k) natively, $(cat p.rc$k) under the preload"
	cmp -s n.out$k p.out$k || fail "gcc run $k: stdout differs"
	diff <(sed 's#n/#D/#g' n.err$k) <(sed 's#p/#D/#g' p.err$k) || fail "gcc run $k: stderr differs"
done
[ "$(cat n.rc1)" -eq 0 ] && [ "$(cat n.rc2)" -eq 0 ] || fail "gcc fails natively"
[ "$(cat n.rc3)" -ne 0 ] || fail "bad.c compiled natively?"
echo "failing compile: status $(cat p.rc3), $(wc -l <p.err3) lines of diagnostics, identical"
a=$(md5sum <n/prog.o) b=$(md5sum <p/prog.o)
[ "$a" = "$b" ] || fail "prog.o differs with the profiler"
a=$(md5sum <n/prog) b=$(md5sum <p/prog)
[ "$a" = "$b" ] || fail "the linked executable differs with the profiler"
[ "$(./p/prog)" = "sum 500500" ] || fail "the executable built under the profiler misbehaves: $(./p/prog)"
ls prof | head -20
check_profiles "$tmp/prof" 3 || exit 1
echo "ok"
