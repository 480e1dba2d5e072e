diff hist_base.json hist_slow.json
