"""Reference AgentCore runtime (Okta guide's BedrockAgentCoreApp) for differential tests.

Run:  HOST=127.0.0.1 PORT=8081 MODE=echo .venv/bin/python dev/agentcore-parity/app.py
Ready when `GET /ping` answers 200. Never touches the network (see README.md).

MODE
  echo    {"prompt": p, "session_id": s?} -> {"answer": "echo: "+p, "session_id": s or header or "none"}
  fail    the handler raises RuntimeError("boom: agentcore-parity fail mode") -> framework's 500
  guide   the Okta guide's main.py handler; token exchange and Bedrock replaced by fixed results
  stream  sync generator: yields {"chunk": ...} x3 (SSE)
  astream async generator, then raises after 2 chunks (SSE error frame)
DELAY_MS  (echo only, default 0): sleep this long inside the handler (to watch /ping while busy)
"""

import os
import time

MODE = os.environ.get("MODE", "echo")
HOST = os.environ.get("HOST", "127.0.0.1")  # must be explicit: run(host=None) binds 0.0.0.0 when /.dockerenv exists
PORT = int(os.environ.get("PORT", "8080"))  # the framework itself ignores $PORT (run(port=8080) default)
DELAY_MS = int(os.environ.get("DELAY_MS", "0"))

if MODE == "guide":
    # The guide's main.py imports, in its order. boto3/requests are installed; PyJWT may not be.
    import json
    import uuid

    import boto3
    import requests  # noqa: F401  (the guide's token exchange uses it; nothing is sent here)

    try:
        import jwt
        from jwt.algorithms import RSAAlgorithm  # the guide's main.py forgets this import
    except ImportError:  # PyJWT[crypto] is in the guide's requirements.txt but not in ours
        jwt = None

    # No credentials lookup may reach IMDS: fixed fake values, metadata disabled.
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(k, v)

from bedrock_agentcore.runtime import BedrockAgentCoreApp  # noqa: E402

app = BedrockAgentCoreApp()

if MODE == "echo":

    @app.entrypoint
    def handler(payload, context):  # 2nd param must be named `context` to receive RequestContext
        if DELAY_MS:
            time.sleep(DELAY_MS / 1000)
        sid = payload.get("session_id") or context.session_id or "none"
        return {"answer": "echo: " + payload["prompt"], "session_id": sid}

elif MODE == "fail":

    @app.entrypoint
    def handler(payload):
        raise RuntimeError("boom: agentcore-parity fail mode")

elif MODE == "stream":

    @app.entrypoint
    def handler(payload):
        for i in range(3):
            yield {"chunk": i, "text": "héllo"}

elif MODE == "astream":

    @app.entrypoint
    async def handler(payload):
        yield {"chunk": 0}
        yield "plain string"
        raise ValueError("stream broke")

elif MODE == "guide":
    # Configuration as in the guide, but with defaults instead of os.environ[...] KeyErrors.
    OKTA_DOMAIN = os.environ.get("OKTA_DOMAIN", "example.okta.com")
    CUSTOM_AS_ID = os.environ.get("OKTA_CUSTOM_AS_ID", "default")
    AGENT_CLIENT_ID = os.environ.get("AGENT_CLIENT_ID", "agent-client-id")
    AGENT_KEY_ID = os.environ.get("AGENT_KEY_ID", "agent-kid")
    REQUESTED_SCOPE = os.environ.get("OKTA_SCOPE", "xaa:read")
    ORG_TOKEN_URL = f"https://{OKTA_DOMAIN}/oauth2/v1/token"
    CUSTOM_AS_TOKEN_URL = f"https://{OKTA_DOMAIN}/oauth2/{CUSTOM_AS_ID}/v1/token"
    CUSTOM_AS_AUDIENCE = f"https://{OKTA_DOMAIN}/oauth2/{CUSTOM_AS_ID}"
    BEDROCK_AGENT_ID = os.environ.get("BEDROCK_AGENT_ID", "AGENTID123")
    BEDROCK_AGENT_ALIAS_ID = os.environ.get("BEDROCK_AGENT_ALIAS_ID", "ALIASID123")
    AWS_REGION = os.environ.get("AWS_REGION", "us-east-1")

    # The guide loads AGENT_PRIVATE_KEY_JWK from the environment; here a key is made at start-up.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    _PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def build_client_assertion(client_id, audience, kid):
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": audience,
                  "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        if jwt is not None:
            return jwt.encode(claims, _PRIVATE_KEY, algorithm="RS256", headers={"kid": kid})
        # Same work without PyJWT: RS256 over base64url(header).base64url(claims).
        import base64

        def b64(b):
            return base64.urlsafe_b64encode(b).rstrip(b"=")

        signing_input = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode()) + b"." + \
            b64(json.dumps(claims).encode())
        sig = _PRIVATE_KEY.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return (signing_input + b"." + b64(sig)).decode()

    def exchange_id_token_for_id_jag(id_token, client_assertion, org_token_url, custom_as_audience):
        return "fixed-id-jag"  # guide: requests.post(org_token_url, ...) -> access_token

    def exchange_id_jag_for_access_token(id_jag, client_assertion, resource_token_url):
        return "fixed-access-token"  # guide: requests.post(resource_token_url, ...) -> access_token

    def invoke_bedrock_agent(prompt, access_token, session_id):
        # The guide makes a client per call; creating it is local (fake creds, no IMDS), invoking is not.
        boto3.client("bedrock-agent-runtime", region_name=AWS_REGION)
        return "You are signed in as jane.doe@example.com."  # guide: client.invoke_agent(...) chunks

    @app.entrypoint
    def handler(payload: dict) -> dict:
        """Expected payload: {"prompt": "...", "id_token": "<okta id_token>"}."""
        id_token = payload["id_token"]
        prompt = payload["prompt"]
        session_id = payload.get("session_id") or str(uuid.uuid4())
        ca_org = build_client_assertion(AGENT_CLIENT_ID, ORG_TOKEN_URL, AGENT_KEY_ID)
        id_jag = exchange_id_token_for_id_jag(id_token, ca_org, ORG_TOKEN_URL, CUSTOM_AS_AUDIENCE)
        ca_custom = build_client_assertion(AGENT_CLIENT_ID, CUSTOM_AS_TOKEN_URL, AGENT_KEY_ID)
        access_token = exchange_id_jag_for_access_token(id_jag, ca_custom, CUSTOM_AS_TOKEN_URL)
        answer = invoke_bedrock_agent(prompt=prompt, access_token=access_token, session_id=session_id)
        return {"answer": answer, "session_id": session_id}

else:
    raise SystemExit(f"unknown MODE={MODE!r} (echo, fail, guide, stream, astream)")

if __name__ == "__main__":
    app.run(port=PORT, host=HOST)
