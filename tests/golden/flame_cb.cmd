flame --metric callback-allocs audio_violations.json
