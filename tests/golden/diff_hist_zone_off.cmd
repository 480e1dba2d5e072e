diff --fail-p99-pct off hist_zone_base.json hist_zone_slow.json
