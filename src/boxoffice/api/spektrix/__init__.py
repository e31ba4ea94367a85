"""The Spektrix API v3 dialect: ``/{client}/api/v3/...`` in web and System Owner mode."""
