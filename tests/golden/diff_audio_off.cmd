diff --fail-p99-pct off --fail-callback-allocs off audio_base.json audio_new.json
