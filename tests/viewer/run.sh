#!/usr/bin/env bash
# run.sh - runs the viewer's browser tests (test.js) on the profiles in DIR, which
# tests/integration/t_viewer.sh prepares. Installs playwright-core from package-lock.json
# (npm ci) when node_modules is missing; the browser is Debian's chromium (package
# chromium, installed by scripts/install-deps.sh), never a download of Playwright's own.
#
#   tests/viewer/run.sh DIR
#
# Exit status: 0 all passed, 1 a test failed, 77 no Chromium (nothing was tested).
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }

CHROMIUM=${CHROMIUM:-}
if [ -z "$CHROMIUM" ]; then
	for c in /usr/bin/chromium "$(command -v chromium 2>/dev/null)" "$(command -v chromium-browser 2>/dev/null)"; do
		[ -n "$c" ] && [ -x "$c" ] && { CHROMIUM=$c; break; }
	done
fi
[ -n "$CHROMIUM" ] || { echo "SKIP: no Chromium (Debian package chromium; scripts/install-deps.sh installs it)"; exit 77; }
export CHROMIUM
command -v node >/dev/null 2>&1 || { echo "viewer: node not found (Debian package nodejs)"; exit 1; }

if [ ! -d "$here/node_modules/playwright-core" ]; then
	command -v npm >/dev/null 2>&1 || { echo "viewer: npm not found (Debian package npm)"; exit 1; }
	echo "viewer: npm ci (playwright-core)"
	(cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
		{ echo "viewer: npm ci failed"; exit 1; }
fi
exec node "$here/test.js" "$1"
