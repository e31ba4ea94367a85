"""The brand/channel customer API v2 dialect (`/api/v2/`, `apiKey` header)."""
