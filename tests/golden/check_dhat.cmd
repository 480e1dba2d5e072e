check --max-peak 100K --max-leaked 60K dhat_valgrind.json
