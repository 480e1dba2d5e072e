report audio_slow.json
