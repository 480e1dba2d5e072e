report --sort short-lived --top 1 heap_basic.json
