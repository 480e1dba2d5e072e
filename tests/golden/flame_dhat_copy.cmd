flame dhat_copy.json
