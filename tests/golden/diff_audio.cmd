diff audio_base.json audio_new.json
