#!/usr/bin/env python3
"""Print values from a devstack settings file, one per line, for shell scripts.

Usage: settings-get.py [--secret] SETTINGS_JSON KEY [KEY ...]
Special keys:
  first_user      the login of the first entry of `users` (a string, or an object's
                  login/username/email/name/sub)
  <url_key>.port  the port of a URL-valued key, e.g. oidc_redirect_uri.port
Refuses to print agent_private_jwk and oidc_client_secret unless --secret is given
(then they go to stdout for a pipe, never to a terminal).
"""
import json
import sys
from urllib.parse import urlparse

SECRET_KEYS = {"agent_private_jwk", "oidc_client_secret"}


def first_user(users):
    if isinstance(users, dict):
        users = list(users.values()) or list(users.keys())
    if not users:
        raise KeyError("users is empty")
    u = users[0]
    if isinstance(u, str):
        return u
    for k in ("login", "username", "email", "name", "sub", "id"):
        if isinstance(u.get(k), str) and u[k]:
            return u[k]
    raise KeyError("cannot find a login in users[0]")


def main() -> int:
    args = sys.argv[1:]
    allow_secret = "--secret" in args
    if allow_secret:
        args = [a for a in args if a != "--secret"]
        if sys.stdout.isatty():
            print("refusing to print a secret to a terminal", file=sys.stderr)
            return 2
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        settings = json.load(f)
    for key in args[1:]:
        if key in SECRET_KEYS and not allow_secret:
            print(f"{key} is secret; pass --secret", file=sys.stderr)
            return 2
        if key == "first_user":
            value = first_user(settings["users"])
        elif key.endswith(".port"):
            url = urlparse(settings[key[: -len(".port")]])
            value = url.port or (443 if url.scheme == "https" else 80)
        else:
            value = settings[key]
        print(value if isinstance(value, (str, int)) else json.dumps(value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
