check -v --max-overruns 0 --max-leaked 64K heap_basic.json
