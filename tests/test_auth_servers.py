"""auth=oidc on each mode's real server, with a stand-in OpenID provider on 127.0.0.1 (the baked
project's own tests/oidc_issuer.py): every kind of bad token, scopes, key rotation, the provider
down with and without cached keys, and a flood of made-up key ids, counting the key fetches.
"""

import base64
import hashlib
import hmac
import importlib.util
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from conftest import FRAMEWORK_MODES, migrate, report, run
from servers import schemathesis, schemathesis_summary, start_server

AUDIENCE = "orders-api"
# Short, so that rotation and recovery show within a test; production's default is 30 s.
REFETCH_SECONDS = 2
WORKERS = 2


def issuer_module(project):
    """The baked project's stand-in provider, loaded under a name of its own."""
    path = project / "tests" / "oidc_issuer.py"
    spec = importlib.util.spec_from_file_location(f"oidc_issuer_{project.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call(server, method, path, token=None, body=None, authorization=None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    payload = None if body is None else json.dumps(body)
    status, response_headers, raw = server.request(method, path, body=payload, headers=headers)
    return status, response_headers, raw


def refusals(issuer, key_class):
    """Tokens the service must refuse, by what is wrong with them."""
    now = int(time.time())
    good = issuer.token(AUDIENCE, scope="items:read")
    claims = jwt.decode(good, options={"verify_signature": False})
    public_pem = issuer.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "expired": issuer.token(AUDIENCE, scope="items:read", exp=now - 120),
        "not yet valid": issuer.token(AUDIENCE, scope="items:read", nbf=now + 120),
        "wrong issuer": issuer.token(AUDIENCE, scope="items:read", iss="https://evil.example"),
        "wrong audience": issuer.token("another-api", scope="items:read"),
        "bad signature": jwt.encode(
            claims, key_class().private, algorithm="RS256", headers={"kid": issuer.key.kid}
        ),
        "alg none": jwt.encode(claims, "", algorithm="none"),
        "HS256 with the public key": hs256(claims, public_pem, issuer.key.kid),
        "unknown kid": issuer.token(AUDIENCE, scope="items:read", key=key_class()),
        "garbled": "not.a.token",
    }


def hs256(claims, secret, kid):
    """Signed by hand: PyJWT itself refuses to use a public key as an HMAC secret."""

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def start_auth_server(project, venv, directory, issuer_url, **env):
    url = f"sqlite:///{directory / 'items.sqlite3'}"
    migrate(project, venv, url)
    return start_server(
        project,
        venv,
        directory / "server.log",
        DATABASE_URL=url,
        WEB_CONCURRENCY=str(WORKERS),
        OIDC_ISSUER=issuer_url,
        OIDC_AUDIENCE=AUDIENCE,
        OIDC_KEYS_REFETCH_SECONDS=str(REFETCH_SECONDS),
        OIDC_FETCH_TIMEOUT_SECONDS="1",
        **env,
    )


def test_production_will_not_start_without_a_provider(installed_auth_project, tmp_path):
    _, project, venv = installed_auth_project
    with pytest.raises(RuntimeError, match="OIDC_ISSUER is required in production"):
        start_server(project, venv, tmp_path / "server.log", OIDC_ISSUER="", OIDC_AUDIENCE="")


def test_tokens_on_the_real_server(installed_auth_project, tmp_path):
    mode, project, venv = installed_auth_project
    provider = issuer_module(project)
    with provider.Issuer() as issuer:
        # The provider does not answer yet: no key, so a 503 that says when to retry, not a hang.
        issuer.state = "hang"
        server = start_auth_server(project, venv, tmp_path, issuer.url)
        try:
            started = time.monotonic()
            status, headers, _ = call(server, "GET", "/items", issuer.token(AUDIENCE, "items:read"))
            waited = time.monotonic() - started
            assert status == 503
            assert 1 <= int(headers["Retry-After"]) <= REFETCH_SECONDS
            assert waited < 5  # the 1 s fetch timeout, not a hang

            issuer.state = "up"
            time.sleep(REFETCH_SECONDS + 0.2)
            reader = issuer.token(AUDIENCE, "items:read")
            writer = issuer.token(AUDIENCE, "items:write")
            # New connections, so that every worker serves some: each caches on its own.
            assert [call(server, "GET", "/items", reader)[0] for _ in range(10)] == [200] * 10
            status, headers, raw = call(server, "POST", "/items", reader, {"name": "x"})
            assert status == 403
            assert 'error="insufficient_scope"' in headers["WWW-Authenticate"]
            assert 'scope="items:write"' in headers["WWW-Authenticate"]
            assert json.loads(raw)["error"]["code"] == 403
            assert call(server, "POST", "/items", writer, {"name": "made"})[0] == 201

            status, headers, raw = call(server, "GET", "/items")
            assert (status, headers["WWW-Authenticate"]) == (
                401,
                'Bearer realm="' + realm(project) + '"',
            )
            for case, bad in refusals(issuer, provider.ProviderKey).items():
                status, headers, raw = call(server, "GET", "/items", bad)
                assert status == 401, case
                assert 'error="invalid_token"' in headers["WWW-Authenticate"], case
                assert json.loads(raw)["error"]["message"] == "the bearer token was refused", case
            # 100 KB: past the header limit (431) or refused as a token (401); never a 5xx.
            huge = issuer.token(AUDIENCE, "items:read", padding="x" * 100_000)
            assert call(server, "GET", "/items", huge)[0] in (401, 431)

            # The provider down, keys cached: tokens keep passing.
            issuer.state = "refuse"
            assert [call(server, "GET", "/items", reader)[0] for _ in range(10)] == [200] * 10

            # Rotation, no restart: the new key's id is unknown, so each worker fetches again.
            issuer.state = "up"
            old = reader
            new_key = issuer.rotate()
            time.sleep(REFETCH_SECONDS + 0.2)
            rotated = issuer.token(AUDIENCE, "items:read", key=new_key)
            assert [call(server, "GET", "/items", rotated)[0] for _ in range(10)] == [200] * 10
            time.sleep(REFETCH_SECONDS + 0.2)
            assert call(server, "GET", "/items", old)[0] == 401  # no longer published

            # A flood of made-up key ids: at most one fetch per worker per interval.
            before = issuer.fetches["/keys"]
            forged = [
                issuer.token(AUDIENCE, "items:read", key=provider.ProviderKey()) for _ in range(4)
            ]
            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                statuses = list(
                    pool.map(lambda i: call(server, "GET", "/items", forged[i % 4])[0], range(400))
                )
            flood_seconds = time.monotonic() - started
            fetched = issuer.fetches["/keys"] - before
            assert set(statuses) == {401}
            most = WORKERS * (math.floor(flood_seconds / REFETCH_SECONDS) + 1)
            assert fetched <= most, (fetched, flood_seconds)
            report(
                f"[{mode}] auth: 400 forged-kid tokens in {flood_seconds:.1f} s fetched the keys "
                f"{fetched} times (at most {most}: {WORKERS} workers, one per "
                f"{REFETCH_SECONDS} s); provider down, no keys: 503 in {waited:.2f} s"
            )
        finally:
            assert server.stop() == 0
    log = server.log_path.read_text()
    assert "Traceback" not in log
    assert reader not in log and huge[:200] not in log  # tokens never reach the log


def realm(project):
    return project.name.replace("_", "-")


# The API's answers with a token are the framework's, whichever server carries them. Lint is
# test_bake.py's: ruff over every combination, mypy over every mode's auth=oidc combinations.
@pytest.mark.parametrize("installed_auth_project", FRAMEWORK_MODES, indirect=True)
def test_generated_project_with_auth_passes_its_tests(installed_auth_project):
    _, project, venv = installed_auth_project
    run(["make", "test", f"VENV={venv}"], cwd=project)


@pytest.mark.parametrize("installed_auth_project", FRAMEWORK_MODES, indirect=True)
def test_schemathesis_with_and_without_a_token(installed_auth_project, tmp_path):
    mode, project, venv = installed_auth_project
    provider = issuer_module(project)
    with provider.Issuer() as issuer:
        server = start_auth_server(project, venv, tmp_path, issuer.url)
        try:
            token = issuer.token(AUDIENCE, "items:read items:write", exp=int(time.time()) + 3600)
            with_token = schemathesis(server, tmp_path, 15, "-H", f"Authorization: Bearer {token}")
            # ignored_auth (in --checks all) also sends each request without the token and
            # expects a 401.
            assert with_token.returncode == 0, with_token.stdout[-6000:]
            without = schemathesis(server, tmp_path, 15)
            assert without.returncode == 0, without.stdout[-6000:]
            document = json.loads(server.request("GET", "/openapi.json")[2])
            protected = [
                (method.upper(), path.replace("{item_id}", "1"))
                for path, methods in document["paths"].items()
                for method, operation in methods.items()
                if operation.get("security")
            ]
            assert len(protected) == 6  # the five of /items, and /me
            for method, path in protected:
                status, headers, _ = call(server, method, path, body={"name": "x"})
                assert status == 401, (method, path)
                assert headers["WWW-Authenticate"].startswith("Bearer "), (method, path)
            summaries = schemathesis_summary(with_token), schemathesis_summary(without)
            report(f"[{mode}] auth schemathesis: {summaries[0]} | no token: {summaries[1]}")
        finally:
            assert server.stop() == 0
