"""The domain core: plain data and rules, no I/O and no frameworks."""
