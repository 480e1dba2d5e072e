report heap_table_full.json
