#!/usr/bin/env bash
# install-deps.sh - the one dependency installer, used by `make check`, `make demo` and
# .ci/run. On Debian/Ubuntu it installs only the missing packages with apt-get (as root or
# through sudo); elsewhere it prints the command to run. Silent when nothing is missing.
#
#   scripts/install-deps.sh           install what is missing
#   scripts/install-deps.sh --check   list what is missing and exit 1; install nothing
#
# Exit status: 0 everything present (or installed), 1 something missing or the
# installation failed, 2 usage.
set -euo pipefail

# The one package list (Debian names). Later parts of the project add to it here.
PACKAGES=(
	build-essential pkg-config          # cc, make, libc6-dev (libc.a for the static-binary test)
	libunwind-dev libdw-dev libelf-dev  # stack capture and symbolization in the preload
	libjansson-dev                      # JSON writer
	libcunit1-dev                       # unit tests
	libffi-dev                          # unit tests: the stack walker through a dlopen'ed module's assembly
	python3 perl sox file               # integration tests: JSON checks, real programs
	nodejs                              # loads profiles in valgrind's dh_view.js
	valgrind heaptrack                  # dh_view.html; bench comparisons
	mandoc bsdextrautils                # man page lint; col(1) for t_man_examples
	libfftw3-dev libjack-jackd2-dev libasound2-dev jackd2   # dsp_demo and its JACK/ALSA tests
	clang libclang-rt-14-dev jq                             # libFuzzer target; a man page example
	portaudio19-dev libsdl2-dev        # preload's PortAudio/SDL2 wrappers (headers); their tests
	libpulse-dev libpipewire-0.3-dev alsa-utils pulseaudio pulseaudio-utils pipewire-bin wireplumber dbus-daemon   # ALSA/Pulse/PipeWire wrappers (headers); their tests
	chromium                            # viewer tests (headless; playwright-core from npm drives it)
	libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev   # programs with their own allocator (t_allocators)
	csound libasound2-plugins           # plugins that load libjack RTLD_LOCAL: csound's rtjack, ALSA's jack pcm (t_real_plugins)
	rustc cargo librust-cpal-dev        # Rust test programs, built offline against Debian's crates (t_rust)
	fluidsynth timgm6mb-soundfont jalv x42-plugins mpv   # real programs of the matrix (t_real_jack_apps; the smallest GM soundfont); mpv also t_run_signals
	procps                              # kill(1) --queue: sigqueue() from a test (t_run_signals)
	zstd                                # heaptrack compresses with it when present (t_bench_smoke; t_bench_nozstd hides it)
	libiberty-dev                       # C++ demangling in the preload when the program has no libstdc++ (demangle.c)
)
# npm installs playwright-core for the viewer tests. NodeSource's nodejs ships npm and
# conflicts with Debian's npm package, so ask for that only when there is no npm.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

me=${0##*/}
check_only=0
case "${1:-}" in
	"") ;;
	--check) check_only=1 ;;
	-h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "$me: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

apt_cmd="apt-get install -y --no-install-recommends ${PACKAGES[*]}"

# Not Debian: we cannot tell what is installed under other names; say what is needed.
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	{
		echo "$me: not a Debian/Ubuntu system: cannot check or install packages."
		echo "$me: on Debian/Ubuntu the command would be:"
		echo "    sudo apt-get update && sudo $apt_cmd"
		echo "$me: install the equivalent packages with your system's package manager."
	} >&2
	[ "$check_only" = 1 ] && exit 1
	exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$check_only" = 1 ]; then
	echo "$me: missing packages: ${missing[*]}" >&2
	exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "$me: missing packages: ${missing[*]}" >&2
		echo "$me: not root and no sudo; run as root:" >&2
		echo "    apt-get update && $apt_cmd" >&2
		exit 1
	fi
fi

echo "$me: installing missing packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A failed update (offline mirror) is not fatal: the cached lists may still do.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
	echo "$me: warning: apt-get update failed; trying with the cached package lists" >&2
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
	echo "$me: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi
echo "$me: installed: ${missing[*]}" >&2
