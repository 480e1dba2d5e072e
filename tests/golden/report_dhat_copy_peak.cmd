report --sort peak dhat_copy.json
