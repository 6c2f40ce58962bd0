"""Checking one bearer token: its signature against the issuer's keys, then iss, aud, exp, nbf.

PyJWT does the cryptography and the claim checks; this module decides what it may accept: only
the asymmetric algorithms below, each with a key of the type it needs. `alg: none` and HS256
"signed" with a public key are refused before any key is looked at.
"""

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from .keys import SigningKey, UnknownKey

# Signatures made with a private key that only the issuer holds.
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# The key each algorithm needs: a token must not get an RSA key used for an EC signature, or the
# reverse (PyJWT would fail on it with an error of its own, not a refusal).
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "Ed": "OKP"}
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
# A real access token is a few kilobytes at most; a bigger one is refused before it is parsed.
MAX_TOKEN_LENGTH = 16 * 1024
REQUIRED_CLAIMS = ["exp", "iss", "aud"]


class TokenRefused(Exception):
    """The token is not acceptable; the message says why, for the log (never the token)."""


class KeySource(Protocol):
    def key_for(self, kid: str | None) -> SigningKey: ...

    def key_for_async(self, kid: str | None) -> Awaitable[SigningKey]: ...


@dataclass(frozen=True)
class Principal:
    """Who the token speaks for, and what it allows."""

    subject: str
    scopes: frozenset[str]
    claims: dict[str, Any] = field(repr=False)


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """`scope`, space-separated (RFC 8693: Keycloak, Auth0, Okta), or `scp`, a list (Entra ID,
    Okta) or a string."""
    granted = claims.get("scope")
    if not isinstance(granted, str):
        granted = claims.get("scp", "")
    if isinstance(granted, str):
        return frozenset(granted.split())
    if isinstance(granted, list):
        return frozenset(scope for scope in granted if isinstance(scope, str))
    return frozenset()


def unknown_key(kid: str | None) -> TokenRefused:
    return TokenRefused(f"signed with key {kid!r:.64}, which the issuer does not publish")


def fits(algorithm: str, key: SigningKey) -> bool:
    """Whether the key is of the type (and EC curve) the algorithm signs with."""
    if algorithm in CURVES:
        return (key.key_type, key.curve) == ("EC", CURVES[algorithm])
    return key.key_type == KEY_TYPES[algorithm[:2]]


class TokenVerifier:
    def __init__(self, keys: KeySource, issuer: str, audience: str, leeway: int):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    def verify(self, token: str) -> Principal:
        algorithm, kid = self.read_header(token)
        try:
            key = self.keys.key_for(kid)
        except UnknownKey:
            raise unknown_key(kid) from None
        return self.check(token, algorithm, key)

    async def verify_async(self, token: str) -> Principal:
        """verify on an event loop: a key fetch runs on a thread, never on the loop."""
        algorithm, kid = self.read_header(token)
        try:
            key = await self.keys.key_for_async(kid)
        except UnknownKey:
            raise unknown_key(kid) from None
        return self.check(token, algorithm, key)

    @staticmethod
    def read_header(token: str) -> tuple[str, str | None]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenRefused(f"{len(token)} characters long, over {MAX_TOKEN_LENGTH}")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRefused(f"malformed: {error}") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise TokenRefused(f"algorithm {algorithm!r:.64} is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise TokenRefused("its key id is not a string")
        return algorithm, kid

    def check(self, token: str, algorithm: str, key: SigningKey) -> Principal:
        if key.algorithm not in (None, algorithm) or not fits(algorithm, key):
            raise TokenRefused(f"algorithm {algorithm} does not fit its key ({key.key_type})")
        try:
            claims = jwt.decode(
                token,
                key.key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except (jwt.PyJWTError, TypeError, ValueError) as error:
            raise TokenRefused(f"{type(error).__name__}: {error}") from None
        return Principal(str(claims.get("sub", "")), scopes_of(claims), claims)
