diff hist_slow.json hist_base.json
