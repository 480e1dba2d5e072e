#!/usr/bin/env bash
# t_real_perl.sh - perl behaves the same with and without the profiler and yields a
# valid profile.
. "$(dirname "$0")/lib/common.sh"
need_preload
command -v perl >/dev/null || skip "no perl"
make_tmp

same_behaviour "$tmp/a" perl -e '
my %h;
for my $i (1 .. 50000) { $h{"k$i"} = [ (1) x ($i % 40) ]; }
my $t = 0;
$t += scalar(@$_) for values %h;
my $s = join(",", map { $_ * 3 } 1 .. 20000);
print scalar(keys %h), " $t ", length($s), "\n";
' || fail "perl behaves differently"
cat "$tmp/pre.out"
check_profiles "$tmp/a" || exit 1
same_behaviour "$tmp/b" perl -e 'print "x\n"; warn "careful\n"; exit 4' || fail "perl exit status run behaves differently"
echo "status $last_status"
check_profiles "$tmp/b" || exit 1
echo "ok"
