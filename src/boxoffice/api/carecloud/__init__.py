"""The CareCloud Customer Interface v1.0 dialect."""
