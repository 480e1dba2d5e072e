diff heap_basic.json heap_basic.json
