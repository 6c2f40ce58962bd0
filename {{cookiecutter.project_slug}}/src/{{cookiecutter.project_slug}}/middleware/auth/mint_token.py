"""`make token`: print a bearer token signed with the local development key.

    make token scope="items:read items:write"

Only where the service trusts that key: outside production, with OIDC_ISSUER unset.
"""

import argparse
import sys

from ...settings import SettingsError, load_auth_settings
from .local_key import LIFETIME_SECONDS, SUBJECT, mint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a token signed with the local key.")
    parser.add_argument("--scope", default="", help='space-separated, e.g. "items:read"')
    parser.add_argument("--subject", default=SUBJECT)
    parser.add_argument("--lifetime", type=int, default=LIFETIME_SECONDS, help="seconds")
    args = parser.parse_args(argv)
    try:
        settings = load_auth_settings()
    except SettingsError as error:
        print(f"make token: {error}", file=sys.stderr)
        return 2
    if not settings.uses_local_key:
        print(
            f"make token: this environment trusts OIDC_ISSUER={settings.issuer!r}, not the local "
            "key; ask that provider for a token",
            file=sys.stderr,
        )
        return 2
    print(
        mint(
            settings.local_key_file,
            settings.expected_issuer,
            settings.expected_audience,
            " ".join(args.scope.split()),
            args.subject,
            args.lifetime,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
