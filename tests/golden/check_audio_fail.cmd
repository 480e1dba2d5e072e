check --max-rt-unsafe 0 --max-overruns 0 --max-load 80 --max-peak 512K --max-leaked 0 audio_violations.json
