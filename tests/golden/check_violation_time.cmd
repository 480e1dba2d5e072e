check -v --max-violation-time 2ms audio_slow.json
