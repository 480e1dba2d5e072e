report heap_peak.json
