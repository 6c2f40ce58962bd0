"""A stand-in OpenID Connect provider on 127.0.0.1 for the tests: discovery, a JWKS, and the
keys to sign tokens with. It counts what it serves and can rotate its keys, go silent or refuse.
"""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/keys"


class ProviderKey:
    """A signing key of the provider's, with the id it publishes it under."""

    def __init__(self, algorithm: str = "RS256"):
        self.algorithm = algorithm
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self.private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        if algorithm.startswith("ES"):
            self.private = ec.generate_private_key(ec.SECP256R1())
            public = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.private = rsa_key
            public = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
        self.public_jwk = {**public, "kid": self.kid, "use": "sig", "alg": algorithm}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **header}
        )


class Issuer:
    """The provider. `state`: "up", "hang" (accepts, never answers), "drip" (answers a byte at
    a time, forever) or "refuse" (503)."""

    def __init__(self) -> None:
        self.keys = [ProviderKey()]
        self.state = "up"
        # What its discovery document says the issuer is (None: its own URL, as it should).
        self.discovery_issuer: str | None = None
        self.fetches = {DISCOVERY_PATH: 0, JWKS_PATH: 0}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Issuer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.state = "refuse"  # frees any request still hanging
        self.server.shutdown()
        self.server.server_close()

    @property
    def key(self) -> ProviderKey:
        return self.keys[0]

    def rotate(self) -> ProviderKey:
        """A new key replaces the old one, as a provider's rotation ends."""
        self.keys = [ProviderKey()]
        return self.key

    def token(
        self, audience: str, scope: str = "", key: ProviderKey | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        defaults = {"iss": self.url, "aud": audience, "sub": "user-1", "exp": now + 300, "nbf": now}
        if scope:
            defaults["scope"] = scope
        return (key or self.key).sign({**defaults, **claims})

    def handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path in issuer.fetches:
                    issuer.fetches[self.path] += 1
                if issuer.state == "hang":
                    while issuer.state == "hang":
                        time.sleep(0.05)
                    return
                if issuer.state == "drip":
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    while issuer.state == "drip":
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.05)
                    return
                if issuer.state == "refuse" or self.path not in issuer.fetches:
                    self.send_error(503 if issuer.state == "refuse" else 404)
                    return
                document: dict[str, Any]
                if self.path == DISCOVERY_PATH:
                    document = {
                        "issuer": issuer.discovery_issuer or issuer.url,
                        "jwks_uri": issuer.url + JWKS_PATH,
                    }
                else:
                    document = {"keys": [key.public_jwk for key in issuer.keys]}
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads the counts

        return Handler
