"""The issuer's signing keys: found through its discovery document, fetched, cached per process.

One fetch at a time per process, and at most one every OIDC_KEYS_REFETCH_SECONDS, whatever the
tokens say: a flood of made-up key ids (kid) costs the provider nothing. A key id not in the cache
fetches again (the provider rotated its keys); a failed fetch keeps the cached keys in use. A
request whose key is cached never waits for a fetch: old keys are refreshed in the background.

We cache the keys ourselves rather than use PyJWT's PyJWKClient: it fetches again for every
unknown kid, and once its cache expires a provider outage refuses every token.
"""

import asyncio
import http.client
import json
import logging
import math
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.error import URLError

import jwt

from ...settings import check_https

logger = logging.getLogger(__name__)
DISCOVERY_PATH = "/.well-known/openid-configuration"
# A discovery document or key set is a few kilobytes; a provider sending more is broken.
MAX_DOCUMENT_BYTES = 512 * 1024
# Only public keys for signatures: a symmetric (oct) key never checks a token here, and a key set
# that leaks a private key (d, p, q...) is not one to trust with the others.
SIGNING_KEY_TYPES = {"RSA", "EC", "OKP"}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


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
    key_type: str  # RSA, EC or OKP
    curve: str | None  # EC and OKP: P-256, Ed25519...


def signing_key(data: Any) -> SigningKey | None:
    """One entry of a key set as a signing key, or None for an entry of no use to us."""
    if not isinstance(data, dict) or data.get("kty") not in SIGNING_KEY_TYPES:
        return None
    if PRIVATE_MEMBERS & data.keys() or data.get("use", "sig") != "sig":
        return None  # a private or an encryption key
    if not all(isinstance(data.get(name, ""), str) for name in ("kid", "alg", "crv")):
        return None
    try:
        return SigningKey(jwt.PyJWK(data), data.get("alg"), data["kty"], data.get("crv"))
    except Exception as error:  # PyJWT raises more than PyJWTError for odd keys
        logger.warning("Skipping the issuer's key %.64r: %s", data.get("kid"), error)
        return None


def signing_keys(key_set: Any) -> dict[str | None, SigningKey]:
    """The usable signing keys of a JWKS document, by key id."""
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise KeyFetchError("the key set has no 'keys' list")
    keys = {data.get("kid"): key for data in key_set["keys"] if (key := signing_key(data))}
    if not keys:
        raise KeyFetchError("the key set holds no usable signing key")
    return keys


class HttpsRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """A redirect must not take the keys off https (check_https's rule)."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        try:
            check_https("a redirect", newurl)
        except ValueError as error:
            raise KeyFetchError(str(error)) from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


OPENER = urllib.request.build_opener(HttpsRedirectsOnly)


def fail(url: str, reason: object) -> NoReturn:
    raise KeyFetchError(f"{url}: {reason}")


def get_json(url: str, timeout: float) -> Any:
    """The JSON document at `url`, within `timeout` seconds in all (not per read: a provider that
    drips its answer byte by byte is cut off too)."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    body = b""
    try:
        with OPENER.open(request, timeout=timeout) as response:
            while chunk := response.read1(64 * 1024):
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    fail(url, f"larger than {MAX_DOCUMENT_BYTES} bytes")
                if time.monotonic() > deadline:
                    fail(url, f"not read within {timeout} s")
        return json.loads(body)
    except KeyFetchError:
        raise
    except (URLError, OSError, http.client.HTTPException) as error:
        fail(url, getattr(error, "reason", None) or repr(error))
    except (ValueError, RecursionError):
        fail(url, "not JSON")


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

    def key_for(self, kid: str | None, may_wait: bool = True) -> SigningKey:
        """The key a token names. A kid not in the cache fetches the keys first, when the last
        fetch is long enough ago; with no key at all, it also waits for a fetch under way.
        `may_wait=False` never blocks (the event loop's fast path)."""
        key = self._keys.get(kid)
        if key is not None:
            if self._due() and time.monotonic() - self._fetched_at >= self.max_age:
                threading.Thread(target=self._refresh_if_free, daemon=True).start()
            return key
        if may_wait and self.would_wait(kid):
            # Bounded: a fetch takes at most fetch_timeout (twice: discovery and keys).
            if self._lock.acquire(timeout=2 * self.fetch_timeout + 1):
                try:
                    if self._due():
                        self._fetch()
                finally:
                    self._lock.release()
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
        return self.key_for(kid, may_wait=False)

    def would_wait(self, kid: str | None) -> bool:
        """Whether key_for(kid) would fetch, or wait for a fetch under way (no I/O, no lock).
        With keys in hand, an unknown kid does not queue behind someone else's fetch."""
        if kid in self._keys:
            return False
        return self._due() or (self._fetching and not self._keys)

    def retry_after(self) -> int:
        """Seconds until the next fetch may start."""
        wait = self.refetch_interval - (time.monotonic() - self._tried_at)
        return max(1, math.ceil(wait))

    def _due(self) -> bool:
        return time.monotonic() - self._tried_at >= self.refetch_interval

    def _refresh_if_free(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                if self._due():
                    self._fetch()
            finally:
                self._lock.release()

    def _fetch(self) -> None:
        self._tried_at = time.monotonic()
        self._fetching = True
        try:
            if self._jwks_uri is None:
                self._jwks_uri = self._discover()
            self._keys = signing_keys(get_json(self._jwks_uri, self.fetch_timeout))
            self._fetched_at = time.monotonic()
            logger.info("Fetched %d signing keys from %s", len(self._keys), self._jwks_uri)
        except Exception as error:  # whatever went wrong, the cached keys stay in use
            self._jwks_uri = None  # discover again next time: the key set may have moved
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
            found = document.get("issuer") if isinstance(document, dict) else None
            raise KeyFetchError(f"{url}: its issuer is not {self.issuer!r} but {found!r:.200}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeyFetchError(f"{url}: no jwks_uri")
        try:
            return check_https("jwks_uri", jwks_uri)
        except ValueError as error:
            raise KeyFetchError(str(error)) from None
