diff --fail-peak-pct 1 audio_new.json audio_base.json
