diff hist_base.json hist_same.json -- hist_slow.json hist_slow.json
