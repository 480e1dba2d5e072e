report dhat_copy.json
