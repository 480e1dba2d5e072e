report --json audio_slow.json
