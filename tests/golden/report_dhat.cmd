report dhat_valgrind.json
