diff hist_base.json hist_same.json
