flame --metric blocks dhat_valgrind.json
