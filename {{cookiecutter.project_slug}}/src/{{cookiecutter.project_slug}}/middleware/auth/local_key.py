"""The local development key: stands in for the identity provider in development and tests.

Made on first use (an EC P-256 key in OIDC_LOCAL_KEY_FILE, readable by its owner only) and
trusted only outside production while OIDC_ISSUER is unset (settings.py). `make token` prints a
token it signs (mint_token.py).
"""

import hashlib
import json
import os
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ...settings import SettingsError
from .keys import SigningKey, UnknownKey

ALGORITHM = "ES256"
SUBJECT = "local-developer"
LIFETIME_SECONDS = 3600


def private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key in `path`, made there first if there is none. Server processes starting at once
    all end up with the one key: each writes its own file and links it into place, and only the
    first link succeeds."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        # Readable by its owner only from the start, never for a moment by anyone else.
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        loaded = None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise SettingsError(f"OIDC_LOCAL_KEY_FILE={str(path)!r} does not hold an EC private key")
    return loaded


def key_id(public_jwk: dict[str, str]) -> str:
    """A key id from the key itself, so a new key file gets a new id."""
    digest = hashlib.sha256(json.dumps(public_jwk, sort_keys=True).encode()).hexdigest()
    return f"local-{digest[:16]}"


class LocalKeys:
    """The one local key, served as IssuerKeys serves a provider's (no I/O after loading)."""

    def __init__(self, path: Path):
        self.private = private_key(path)  # for mint(), which signs with it
        public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        self.kid = key_id(public_jwk)
        self._key = SigningKey(jwt.PyJWK({**public_jwk, "kid": self.kid}), ALGORITHM, "EC", "P-256")

    def key_for(self, kid: str | None) -> SigningKey:
        if kid != self.kid:
            raise UnknownKey(kid)
        return self._key

    async def key_for_async(self, kid: str | None) -> SigningKey:
        return self.key_for(kid)  # in memory: nothing to wait for


def mint(
    path: Path,
    issuer: str,
    audience: str,
    scopes: str,
    subject: str = SUBJECT,
    lifetime: int = LIFETIME_SECONDS,
) -> str:
    """A token signed with the local key."""
    keys = LocalKeys(path)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "scope": scopes,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, keys.private, algorithm=ALGORITHM, headers={"kid": keys.kid})
