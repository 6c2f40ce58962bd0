"""The stand-in OpenID provider for the auth rows: the baked project's own tests/oidc_issuer.py
(discovery, a JWKS, RSA 2048 keys signing RS256), in the project's venv, which has PyJWT.

Usage: python oidc_issuer.py AUDIENCE SCOPE  (in the project directory)
Prints {"url": ..., "token": ...} on one line, then serves until SIGTERM.
"""

import json
import signal
import sys
import time

sys.path.insert(0, "tests")
from oidc_issuer import Issuer

audience, scope = sys.argv[1:3]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with Issuer() as issuer:
    # An hour, not the stand-in's five minutes: one token serves every request of the mode's row.
    token = issuer.token(audience, scope, exp=int(time.time()) + 3600)
    print(json.dumps({"url": issuer.url, "token": token}), flush=True)
    while True:
        time.sleep(3600)
