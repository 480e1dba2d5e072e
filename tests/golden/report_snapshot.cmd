report heap_snapshot.json
