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
    time.sleep(0.2)  # the keys are old: the next token tries to fetch them again, and fails
    with caplog.at_level(logging.WARNING):
        verifier.verify(issuer.token(AUDIENCE))
    assert issuer.fetches[JWKS_PATH] == 2
    assert "1 cached keys stay in use" in caplog.text


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


def test_a_discovery_document_for_another_issuer_is_not_trusted(issuer):
    keys = IssuerKeys(issuer.url + "/other", 2.0, 30, 3600)
    with pytest.raises(KeysUnavailable):
        keys.key_for(issuer.key.kid)


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
