diff --fail-bytes-pct 10 --fail-leaked 1K heap_basic.json heap_peak.json
