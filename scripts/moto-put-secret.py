#!/usr/bin/env python3
"""Store devstack's agent private JWK as a Secrets Manager secret in a running moto server.

Usage: moto-put-secret.py SETTINGS_JSON ENDPOINT_URL SECRET_NAME
Prints the secret's ARN on stdout, nothing else. The key itself is read from the
settings file and sent to moto; it is never printed. Uses dummy credentials, so it
cannot reach a real AWS account even if ENDPOINT_URL were wrong: the endpoint must
be a loopback http URL.
"""
import json
import sys
from urllib.parse import urlparse

import boto3


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    settings_path, endpoint, name = sys.argv[1:]
    host = urlparse(endpoint).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"refusing non-loopback endpoint {endpoint!r}", file=sys.stderr)
        return 2
    with open(settings_path, encoding="utf-8") as f:
        settings = json.load(f)
    jwk = settings["agent_private_jwk"]
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name=settings.get("aws_region") or "us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    secret = json.dumps(jwk) if not isinstance(jwk, str) else jwk
    try:
        arn = client.create_secret(Name=name, SecretString=secret)["ARN"]
    except client.exceptions.ResourceExistsException:
        arn = client.put_secret_value(SecretId=name, SecretString=secret)["ARN"]
    print(arn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
