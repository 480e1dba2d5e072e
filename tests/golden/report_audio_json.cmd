report --json --top 1 audio_violations.json
