"""Bearer tokens from an OpenID Connect provider, checked on every protected view.

keys.py fetches and caches the provider's signing keys, tokens.py checks a token against them,
local_key.py stands in for the provider in development and tests, and bearer.py ties them to the
app: `@requires_scopes("items:read")` on a view, RFC 6750 answers when a token falls short.
"""
