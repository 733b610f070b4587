// ImageJ macro: keep values at or above the threshold (run headless).
threshold = 100;
setThreshold(threshold, 65535);
