"""The issuer's signing keys: found through its discovery document, fetched, cached per process.

One fetch at a time per process, and at most one every OIDC_KEYS_REFETCH_SECONDS, whatever the
tokens say: a flood of made-up key ids (kid) costs the provider nothing. A key id not in the cache
fetches again (the provider rotated its keys); a failed fetch keeps the cached keys in use.

We cache the keys ourselves rather than use PyJWT's PyJWKClient: it fetches again for every
unknown kid, and once its cache expires a provider outage refuses every token.
"""

import asyncio
import json
import logging
import math
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

import jwt

from ...settings import check_https

logger = logging.getLogger(__name__)
DISCOVERY_PATH = "/.well-known/openid-configuration"
# A discovery document or key set is a few kilobytes; a provider sending more is broken.
MAX_DOCUMENT_BYTES = 512 * 1024
# Only keys for signatures with a public key: a symmetric (oct) key never checks a token here.
SIGNING_KEY_TYPES = {"RSA", "EC", "OKP"}


class KeyFetchError(Exception):
    """The provider's keys could not be fetched; the message says why (for the log)."""


class UnknownKey(Exception):
    """The token names a key the issuer does not publish."""


class KeysUnavailable(Exception):
    """No key to check tokens with: the provider has not answered yet."""

    def __init__(self, retry_after: int):
        super().__init__(f"no signing keys; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SigningKey:
    key: jwt.PyJWK
    # The algorithm the key set pins the key to, if it does (its "alg"); None: any the type fits.
    algorithm: str | None


def signing_keys(key_set: Any) -> dict[str | None, SigningKey]:
    """The usable signing keys of a JWKS document, by key id."""
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise KeyFetchError("the key set has no 'keys' list")
    keys: dict[str | None, SigningKey] = {}
    for data in key_set["keys"]:
        if not isinstance(data, dict) or data.get("kty") not in SIGNING_KEY_TYPES:
            continue
        if data.get("use", "sig") != "sig":
            continue  # an encryption key
        try:
            keys[data.get("kid")] = SigningKey(jwt.PyJWK(data), data.get("alg"))
        except jwt.PyJWTError as error:
            logger.warning("Skipping the issuer's key %r: %s", data.get("kid"), error)
    if not keys:
        raise KeyFetchError("the key set holds no usable signing key")
    return keys


def get_json(url: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (URLError, OSError, ValueError) as error:
        raise KeyFetchError(f"{url}: {getattr(error, 'reason', error)}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeyFetchError(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise KeyFetchError(f"{url}: not JSON") from None


class IssuerKeys:
    """The keys of one issuer, for every thread (and the event loop) of this process."""

    def __init__(self, issuer: str, fetch_timeout: float, refetch_interval: float, max_age: float):
        self.issuer = issuer
        self.fetch_timeout = fetch_timeout
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self._keys: dict[str | None, SigningKey] = {}
        self._jwks_uri: str | None = None
        self._fetched_at = -math.inf  # when the keys in hand were fetched
        self._tried_at = -math.inf  # when the last fetch started, whatever came of it
        self._fetching = False
        self._lock = threading.Lock()

    def key_for(self, kid: str | None) -> SigningKey:
        """The key a token names; fetches first when the cache lacks it or is old and the last
        fetch is long enough ago. Blocks while another thread fetches."""
        if self.would_wait(kid):
            with self._lock:
                if self._fetch_due(kid):
                    self._fetch()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._keys:
            raise KeysUnavailable(self.retry_after())
        raise UnknownKey(kid)

    async def key_for_async(self, kid: str | None) -> SigningKey:
        """key_for on the event loop: a fetch (or the wait for one) runs on a thread."""
        if self.would_wait(kid):
            return await asyncio.to_thread(self.key_for, kid)
        return self.key_for(kid)

    def would_wait(self, kid: str | None) -> bool:
        """Whether key_for(kid) would fetch or wait for a fetch under way (no I/O)."""
        return self._fetching or self._fetch_due(kid)

    def retry_after(self) -> int:
        """Seconds until the next fetch may start."""
        wait = self.refetch_interval - (time.monotonic() - self._tried_at)
        return max(1, math.ceil(wait))

    def _fetch_due(self, kid: str | None) -> bool:
        now = time.monotonic()
        wanted = kid not in self._keys or now - self._fetched_at >= self.max_age
        return wanted and now - self._tried_at >= self.refetch_interval

    def _fetch(self) -> None:
        self._tried_at = time.monotonic()
        self._fetching = True
        try:
            if self._jwks_uri is None:
                self._jwks_uri = self._discover()
            self._keys = signing_keys(get_json(self._jwks_uri, self.fetch_timeout))
            self._fetched_at = time.monotonic()
            logger.info("Fetched %d signing keys from %s", len(self._keys), self._jwks_uri)
        except KeyFetchError as error:
            logger.warning(
                "Cannot fetch the issuer's signing keys (%s); %d cached keys stay in use",
                error,
                len(self._keys),
            )
        finally:
            self._fetching = False

    def _discover(self) -> str:
        """jwks_uri from the issuer's discovery document (OpenID Connect Discovery 1.0)."""
        url = self.issuer.rstrip("/") + DISCOVERY_PATH
        document = get_json(url, self.fetch_timeout)
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            # The spec requires it to match: a document for another issuer is not this one's.
            raise KeyFetchError(f"{url}: its issuer is not {self.issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeyFetchError(f"{url}: no jwks_uri")
        try:
            return check_https("jwks_uri", jwks_uri)
        except ValueError as error:
            raise KeyFetchError(str(error)) from None
