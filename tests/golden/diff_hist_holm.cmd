diff --noise-threshold 0 hist_zones8_base.json hist_zones8_new.json
