"""Who may call the API: bearer tokens and their scopes, through the app, with the local key
standing in for the provider (conftest.py's `token`). test_auth_keys.py covers the provider."""

import base64
import hashlib
import hmac
import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import oidc_issuer
from {{ cookiecutter.project_slug }}.middleware.auth import bearer, mint_token
from {{ cookiecutter.project_slug }}.middleware.auth.local_key import LocalKeys, private_key
from {{ cookiecutter.project_slug }}.settings import LOCAL_ISSUER, SettingsError, load_auth_settings
{%- set read_path = "/items" if cookiecutter.database != "none" else "/me" %}

{%- if cookiecutter.database != "none" %}

pytestmark = pytest.mark.usefixtures("database")
{%- endif %}

REALM = "{{ cookiecutter.project_slug | replace('_', '-') }}"
READ_PATH = "{{ read_path }}"


def authorization(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_the_public_key(token_fixture, local_key_file) -> str:
    """The classic confusion attack: HMAC "signed" with the public key, which anyone has."""
    public_pem = (
        private_key(local_key_file)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = jwt.decode(token_fixture(), options={"verify_signature": False})
    kid = LocalKeys(local_key_file).kid
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def with_header(token: str, header: dict[str, object]) -> str:
    """The token with another JOSE header: refused before its signature is even looked at."""
    return b64(json.dumps(header).encode()) + "." + token.split(".", 1)[1]


def unsigned(token_fixture) -> str:
    """`alg: none`: no signature at all."""
    claims = jwt.decode(token_fixture(), options={"verify_signature": False})
    return jwt.encode(claims, "", algorithm="none")


def signed_by_a_stranger(token_fixture, local_key_file) -> str:
    """The right key id, another key: the signature does not check."""
    claims = jwt.decode(token_fixture(), options={"verify_signature": False})
    stranger = ec.generate_private_key(ec.SECP256R1())
    kid = LocalKeys(local_key_file).kid
    return jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": kid})


def test_no_token_is_a_401_with_a_bearer_challenge(client):
    response = client.get(READ_PATH, headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{REALM}"'
    assert response.json == {"error": {"code": 401, "message": "a bearer token is required"}}


def test_another_scheme_is_no_token(client):
    response = client.get(READ_PATH, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert "error=" not in response.headers["WWW-Authenticate"]


def test_a_valid_token_is_served(client, token):
    response = client.get(READ_PATH, headers=authorization(token()))
    assert response.status_code == 200


def test_me_names_the_subject_and_its_scopes(client, token):
    response = client.get("/me", headers=authorization(token(scope="b a", sub="ada")))
    assert response.status_code == 200
    assert response.json == {"subject": "ada", "scopes": ["a", "b"]}


def test_scopes_come_from_scp_as_a_list_or_a_string(client, token):
    for scp in (["x:read", "x:write"], "x:read x:write"):
        response = client.get("/me", headers=authorization(token(scope=None, scp=scp)))
        assert response.json["scopes"] == ["x:read", "x:write"]
{%- if cookiecutter.database != "none" %}


def test_reading_needs_items_read(client, token):
    assert client.get("/items", headers=authorization(token(scope="items:read"))).status_code == 200
    response = client.get("/items/1", headers=authorization(token(scope="items:write")))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="{REALM}", error="insufficient_scope", scope="items:read"'
    )
    assert response.json["error"] == {
        "code": 403,
        "message": "the token does not grant the scope items:read",
    }


def test_writing_needs_items_write(client, token):
    read_only = authorization(token(scope="items:read"))
    assert client.post("/items", json={"name": "x"}, headers=read_only).status_code == 403
    assert client.patch("/items/1", json={"name": "x"}, headers=read_only).status_code == 403
    assert client.delete("/items/1", headers=read_only).status_code == 403
    writer = authorization(token(scope="items:write"))
    assert client.post("/items", json={"name": "x"}, headers=writer).status_code == 201


def test_the_token_is_checked_before_the_body(client):
    """No 422 or 415 for a caller who may not call at all: it would describe the API to them."""
    response = client.post("/items", data="not json", headers={"Authorization": ""})
    assert response.status_code == 401
{%- endif %}


@pytest.mark.parametrize(
    ("case", "make"),
    [
        ("expired", lambda token, key: token(exp=int(time.time()) - 120)),
        ("not yet valid", lambda token, key: token(nbf=int(time.time()) + 120)),
        ("no expiry", lambda token, key: token(exp=None)),
        ("wrong issuer", lambda token, key: token(iss="https://evil.example.com")),
        ("wrong audience", lambda token, key: token(aud="another-api")),
        ("no audience", lambda token, key: token(aud=None)),
        ("bad signature", lambda token, key: signed_by_a_stranger(token, key)),
        ("alg none", lambda token, key: unsigned(token)),
        ("HS256 with the public key", hs256_with_the_public_key),
        ("unknown kid", lambda token, key: token(header={"kid": "forged"})),
        ("garbled", lambda token, key: "not.a.token"),
        ("garbled header", lambda token, key: "eyJhbGciOi." + token().split(".", 1)[1]),
        ("alg not a string", lambda token, key: with_header(token(), {"alg": ["ES256"]})),
        ("100 KB", lambda token, key: token(padding="x" * 100_000)),
    ],
)
def test_a_bad_token_is_a_401_invalid_token(client, token, local_key_file, caplog, case, make):
    bad = make(token, local_key_file)
    with caplog.at_level(logging.INFO):
        response = client.get(READ_PATH, headers=authorization(bad))
    assert response.status_code == 401, case
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{REALM}", error="invalid_token"'
    # The client learns that the token was refused, never why; the log says why.
    assert response.json == {"error": {"code": 401, "message": "the bearer token was refused"}}
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals, case
    assert not [message for message in refusals if bad[-20:] in message]


def test_with_no_key_from_the_provider_the_answer_is_a_503_with_retry_after(app, client_for):
    with oidc_issuer.Issuer() as issuer:
        issuer.state = "refuse"
        environ = {"APP_ENV": "test", "OIDC_ISSUER": issuer.url, "OIDC_AUDIENCE": "api"}
        app.config["AUTH"] = load_auth_settings(environ)
        bearer.init_app(app)
        client = client_for(app)
        response = client.get(READ_PATH, headers=authorization(issuer.token("api", "items:read")))
    assert response.status_code == 503
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    assert response.json["error"] == {
        "code": 503,
        "message": "tokens cannot be checked yet; retry shortly",
    }


def test_the_leeway_forgives_a_little_clock_skew(client, token):
    just_expired = token(exp=int(time.time()) - 5)
    assert client.get(READ_PATH, headers=authorization(just_expired)).status_code == 200


def test_probes_and_metrics_need_no_token(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 200, path
{%- if cookiecutter.database != "none" %}


def test_openapi_declares_the_scheme_and_each_operations_scopes(client):
    document = client.get("/openapi.json").json
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operations = document["paths"]
    assert operations["/items"]["get"]["security"] == [{"bearerAuth": ["items:read"]}]
    assert operations["/items"]["post"]["security"] == [{"bearerAuth": ["items:write"]}]
    assert operations["/items/{item_id}"]["delete"]["security"] == [{"bearerAuth": ["items:write"]}]
    assert operations["/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "503"} <= set(operations["/items"]["post"]["responses"])
    assert "403" not in operations["/me"]["get"]["responses"]
{%- endif %}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OIDC_AUDIENCE": "api"}, "OIDC_ISSUER is required in production"),
        ({"OIDC_ISSUER": "https://id.example.com"}, "OIDC_AUDIENCE is required in production"),
        ({"APP_ENV": "development", "OIDC_ISSUER": "https://id.example.com"}, "OIDC_AUDIENCE is"),
        ({"OIDC_ISSUER": LOCAL_ISSUER, "OIDC_AUDIENCE": "api"}, "refused in production"),
        ({"OIDC_ISSUER": "http://id.example.com", "OIDC_AUDIENCE": "api"}, "must be an https://"),
        (
            {"OIDC_ISSUER": "https://id.example.com", "OIDC_LEEWAY_SECONDS": "x"},
            "OIDC_LEEWAY_SECONDS='x' is not a whole number",
        ),
    ],
)
def test_start_is_refused_without_a_whole_provider(environ, message):
    with pytest.raises(SettingsError, match=message):
        load_auth_settings({"APP_ENV": "production", **environ})


def test_a_provider_on_this_machine_may_use_http():
    issuer = "http://127.0.0.1:8080/realms/a"
    settings = load_auth_settings(
        {"APP_ENV": "production", "OIDC_ISSUER": issuer, "OIDC_AUDIENCE": "a"}
    )
    assert not settings.uses_local_key


def test_make_token_prints_a_token_the_service_accepts(client, monkeypatch, capsys):
    monkeypatch.setenv("APP_ENV", "development")
    assert mint_token.main(["--scope", "items:read  me"]) == 0
    printed = capsys.readouterr().out.strip()
    response = client.get("/me", headers=authorization(printed))
    assert response.json["scopes"] == ["items:read", "me"]


def test_make_token_refuses_where_a_provider_is_trusted(monkeypatch, capsys):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("OIDC_ISSUER", "https://id.example.com")
    monkeypatch.setenv("OIDC_AUDIENCE", "orders-api")
    assert mint_token.main([]) == 2
    assert "trusts OIDC_ISSUER='https://id.example.com'" in capsys.readouterr().err
