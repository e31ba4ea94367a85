"""Security primitives: password hashing, Spektrix request signatures, secrets at rest.

This package depends only on the standard library, ``argon2-cffi``, ``cryptography`` and
``anyio``; it knows nothing about HTTP frameworks or storage.
"""
