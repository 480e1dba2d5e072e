report heap_basic.json
