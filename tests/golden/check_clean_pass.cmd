check -v --max-rt-unsafe 0 --max-overruns 0 --max-load 50 --max-peak 1M --max-leaked 0 audio_clean.json
