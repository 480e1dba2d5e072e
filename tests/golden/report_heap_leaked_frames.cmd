report --frames 1 --sort leaked heap_basic.json
