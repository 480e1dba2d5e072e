diff hist_zone_base.json hist_zone_slow.json
