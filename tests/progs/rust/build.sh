#!/usr/bin/env bash
# build.sh OUTDIR - builds the Rust test programs into OUTDIR with Debian's toolchain
# (/usr/bin/rustc, /usr/bin/cargo; never a rustup one found on PATH), offline:
#   OUTDIR/hello                                  rustc, hello.rs
#   OUTDIR/inline, OUTDIR/inline_v0               rustc -O, inline.rs, legacy and v0
#                                                 symbol mangling
#   OUTDIR/cpal_null/target/debug/cpal_null       cargo, cpal_null/ against Debian's
#                                                 vendored crates (librust-cpal-dev)
# Up-to-date outputs are kept: a second run costs a timestamp check and a no-op cargo
# build. Exit status: 0 built, 77 a tool or crate is missing (named on stderr), 1 a
# build failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
RUSTC=/usr/bin/rustc
CARGO=/usr/bin/cargo
for t in "$RUSTC" "$CARGO"; do
	[ -x "$t" ] || { echo "build.sh: $t missing (apt-get install rustc cargo)" >&2; exit 77; }
done
[ -d /usr/share/cargo/registry/cpal-0.10.0 ] ||
	{ echo "build.sh: cpal 0.10 missing from /usr/share/cargo/registry (apt-get install librust-cpal-dev)" >&2; exit 77; }
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
export PATH=/usr/bin:/bin RUSTC CARGO_HOME="$out/cargo-home"
unset RUSTFLAGS CARGO_TARGET_DIR RUSTUP_TOOLCHAIN

if [ ! -x "$out/hello" ] || [ "$here/hello.rs" -nt "$out/hello" ]; then
	"$RUSTC" -g -o "$out/hello.tmp.$$" "$here/hello.rs" && mv -f "$out/hello.tmp.$$" "$out/hello" ||
		{ rm -f "$out/hello.tmp.$$"; echo "build.sh: rustc hello.rs failed" >&2; exit 1; }
fi

for v in legacy v0; do
	bin=$out/inline mangling=   # legacy: the default, and stable rustc rejects naming it
	[ $v = v0 ] && bin=$out/inline_v0 mangling="-C symbol-mangling-version=v0"
	if [ ! -x "$bin" ] || [ "$here/inline.rs" -nt "$bin" ]; then
		"$RUSTC" -g -C opt-level=2 $mangling -o "$bin.tmp.$$" "$here/inline.rs" &&
			mv -f "$bin.tmp.$$" "$bin" ||
			{ rm -f "$bin.tmp.$$"; echo "build.sh: rustc inline.rs ($v mangling) failed" >&2; exit 1; }
	fi
done

# The crate is copied (only what changed, so cargo's own timestamps stay meaningful):
# Cargo.lock and target/ then live in the build directory, never in the source tree.
proj=$out/cpal_null
mkdir -p "$proj/.cargo" || exit 1
for f in Cargo.toml main.rs; do
	cmp -s "$here/cpal_null/$f" "$proj/$f" || cp "$here/cpal_null/$f" "$proj/$f" || exit 1
done
cmp -s "$here/cargo-config.toml" "$proj/.cargo/config.toml" ||
	cp "$here/cargo-config.toml" "$proj/.cargo/config.toml" || exit 1
(cd "$proj" && "$CARGO" build --offline -q --target-dir "$proj/target") ||
	{ echo "build.sh: cargo build of cpal_null failed" >&2; exit 1; }
