report --sort callback-allocs --top 3 audio_new.json
