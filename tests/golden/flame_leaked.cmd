flame --metric leaked heap_basic.json
