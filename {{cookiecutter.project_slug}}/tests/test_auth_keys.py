"""The provider's keys, fetched from a stand-in provider on 127.0.0.1 (oidc_issuer.py): discovery,
rotation, outages, floods of made-up key ids, and many threads or an event loop asking at once."""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import oidc_issuer
from {{ cookiecutter.project_slug }}.middleware.auth.keys import IssuerKeys, KeysUnavailable
from {{ cookiecutter.project_slug }}.middleware.auth.tokens import TokenRefused, TokenVerifier

DISCOVERY_PATH, JWKS_PATH = oidc_issuer.DISCOVERY_PATH, oidc_issuer.JWKS_PATH
Issuer, ProviderKey = oidc_issuer.Issuer, oidc_issuer.ProviderKey
AUDIENCE = "orders-api"


@pytest.fixture
def issuer():
    with Issuer() as running:
        yield running


def verifier_for(issuer, refetch_interval=30.0, max_age=3600.0, timeout=2.0):
    keys = IssuerKeys(issuer.url, timeout, refetch_interval, max_age)
    return TokenVerifier(keys, issuer.url, AUDIENCE, leeway=0)


def test_keys_come_from_the_discovery_document(issuer):
    verifier = verifier_for(issuer)
    principal = verifier.verify(issuer.token(AUDIENCE, scope="items:read"))
    assert principal.subject == "user-1"
    assert principal.scopes == {"items:read"}
    verifier.verify(issuer.token(AUDIENCE))
    assert issuer.fetches == {DISCOVERY_PATH: 1, JWKS_PATH: 1}  # cached after the first


def test_a_rotated_key_is_fetched_without_a_restart(issuer):
    verifier = verifier_for(issuer, refetch_interval=0.2)
    old = issuer.token(AUDIENCE)
    verifier.verify(old)
    issuer.rotate()
    time.sleep(0.3)
    verifier.verify(issuer.token(AUDIENCE))  # its kid is new: fetched again
    assert issuer.fetches[JWKS_PATH] == 2
    time.sleep(0.3)
    with pytest.raises(TokenRefused, match="does not publish"):
        verifier.verify(old)  # the provider no longer publishes the old key


def test_a_flood_of_made_up_key_ids_fetches_at_most_once_per_interval(issuer):
    verifier = verifier_for(issuer, refetch_interval=30)
    verifier.verify(issuer.token(AUDIENCE))
    forged = [issuer.token(AUDIENCE, key=ProviderKey()) for _ in range(5)]  # kids never published
    for index in range(200):
        with pytest.raises(TokenRefused):
            verifier.verify(forged[index % 5])
    assert issuer.fetches[JWKS_PATH] == 1


def test_many_threads_at_a_cold_start_share_one_fetch(issuer):
    verifier = verifier_for(issuer)
    token = issuer.token(AUDIENCE)
    with ThreadPoolExecutor(32) as pool:
        principals = list(pool.map(lambda _: verifier.verify(token), range(64)))
    assert len(principals) == 64
    assert issuer.fetches == {DISCOVERY_PATH: 1, JWKS_PATH: 1}


def test_while_the_provider_is_down_cached_keys_still_pass(issuer, caplog):
    verifier = verifier_for(issuer, refetch_interval=0.1, max_age=0.1)
    verifier.verify(issuer.token(AUDIENCE))
    issuer.state = "refuse"
    time.sleep(0.2)  # the keys are old: the next token fetches them again, in the background
    with caplog.at_level(logging.WARNING):
        verifier.verify(issuer.token(AUDIENCE))
        deadline = time.monotonic() + 5
        while "cached keys stay in use" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert issuer.fetches[JWKS_PATH] == 2
    assert "1 cached keys stay in use" in caplog.text
    verifier.verify(issuer.token(AUDIENCE))  # and after the failed fetch, still


def test_with_the_provider_down_and_no_keys_the_answer_is_unavailable_fast(issuer):
    issuer.state = "hang"
    verifier = verifier_for(issuer, refetch_interval=30, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(KeysUnavailable) as raised:
        verifier.verify(issuer.token(AUDIENCE))
    assert time.monotonic() - started < 5  # the fetch timed out; no hang
    assert 1 <= raised.value.retry_after <= 30
    with pytest.raises(KeysUnavailable):  # and the next one does not wait again
        verifier.verify(issuer.token(AUDIENCE))
    assert issuer.fetches[DISCOVERY_PATH] == 1


def test_a_discovery_document_for_another_issuer_is_not_trusted(issuer, caplog):
    issuer.discovery_issuer = "https://elsewhere.example.com"
    with pytest.raises(KeysUnavailable), caplog.at_level(logging.WARNING):
        verifier_for(issuer).verify(issuer.token(AUDIENCE))
    assert "its issuer is not" in caplog.text
    assert issuer.fetches[JWKS_PATH] == 0


def test_a_provider_that_drips_its_answer_is_cut_off_at_the_timeout(issuer):
    issuer.state = "drip"
    started = time.monotonic()
    with pytest.raises(KeysUnavailable):
        verifier_for(issuer, timeout=0.5).verify(issuer.token(AUDIENCE))
    assert time.monotonic() - started < 3  # 0.5 s in all, not 0.5 s per byte


def test_a_cached_key_never_waits_for_another_requests_fetch(issuer):
    verifier = verifier_for(issuer, refetch_interval=0.1, timeout=2.0)
    token = issuer.token(AUDIENCE)
    verifier.verify(token)
    issuer.state = "hang"
    time.sleep(0.2)
    forged = issuer.token(AUDIENCE, key=ProviderKey())

    def refused() -> bool:
        try:
            verifier.verify(forged)
        except TokenRefused:
            return True
        return False

    with ThreadPoolExecutor(1) as pool:
        fetching = pool.submit(refused)
        time.sleep(0.3)  # that request is now waiting on the hung provider
        started = time.monotonic()
        assert verifier.verify(token).subject == "user-1"
        assert time.monotonic() - started < 0.5
        issuer.state = "up"
        assert fetching.result(10)


def test_keys_that_are_private_or_of_the_wrong_type_are_never_used(issuer):
    private = ProviderKey()
    issuer.keys = [issuer.key, private]
    # A key set that leaks a private key: that entry is skipped, the others still serve.
    private.public_jwk = {**private.public_jwk, "d": "AQAB"}
    verifier = verifier_for(issuer)
    assert verifier.verify(issuer.token(AUDIENCE)).subject == "user-1"
    with pytest.raises(TokenRefused, match="does not publish"):
        verifier.verify(issuer.token(AUDIENCE, key=private))
    # An EC key without "alg" and a token that claims RS256 with its kid: refused, not a 500.
    ec_key = ProviderKey("ES256")
    ec_key.public_jwk.pop("alg")
    issuer.keys = [ec_key]
    confused = ProviderKey()
    confused.kid = ec_key.kid
    fresh = verifier_for(issuer)
    with pytest.raises(TokenRefused, match="does not fit"):
        fresh.verify(issuer.token(AUDIENCE, key=confused))


def test_the_event_loop_keeps_running_while_keys_are_fetched(issuer):
    """Quart checks tokens on its event loop: a slow provider must not stop other requests."""
    issuer.state = "hang"
    verifier = verifier_for(issuer, timeout=1.0)
    token = issuer.token(AUDIENCE)

    async def main():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.create_task(tick())
        with pytest.raises(KeysUnavailable):
            await verifier.verify_async(token)
        ticker.cancel()
        return ticks

    assert asyncio.run(main()) >= 10  # about 20 in the second the fetch hung


def test_the_provider_coming_back_is_noticed(issuer):
    issuer.state = "refuse"
    verifier = verifier_for(issuer, refetch_interval=0.2)
    with pytest.raises(KeysUnavailable):
        verifier.verify(issuer.token(AUDIENCE))
    issuer.state = "up"
    time.sleep(0.3)
    assert verifier.verify(issuer.token(AUDIENCE)).subject == "user-1"


def test_a_key_set_without_usable_signing_keys_is_refused(issuer):
    issuer.keys[0].public_jwk = {"kty": "oct", "k": "c2VjcmV0", "kid": issuer.key.kid}
    with pytest.raises(KeysUnavailable):
        verifier_for(issuer).verify(issuer.token(AUDIENCE))
