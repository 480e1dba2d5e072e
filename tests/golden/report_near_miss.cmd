report audio_near_miss.json
