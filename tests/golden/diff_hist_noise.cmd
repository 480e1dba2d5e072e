diff --noise-threshold 25 hist_base.json hist_slow.json
