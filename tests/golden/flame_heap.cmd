flame heap_basic.json
