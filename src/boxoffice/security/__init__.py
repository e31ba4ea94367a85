"""Security primitives: password hashing, request signatures, secrets at rest."""
