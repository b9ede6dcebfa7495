#!/usr/bin/env bash
# make demo-credentials: every credential an Okta AI agent can get, offline, on loopback.
#
#   devstack (Okta org AS + custom AS, resource connections, service apps, protected API)
#     ^ sign-in (get-id-token --headless)        ^ xaa token / xaa revoke (the CLI)
#   then AGBAC: a client-credentials token with --act-sub, handed to the real xaa-tool
#   (run once per model under devstack's Lambda Runtime API emulator, examples/lambda_invoke)
#
# Shows what was obtained with every value masked (a length; tokens keep their eyJ/sts_ prefix).
# Secrets live in a 0700 run directory (0600 files) that is removed at the end.
# Everything it starts is stopped by PID (process group) on exit, error or Ctrl-C.
# Knobs (environment): DEMO_USER, DEMO_TIMEOUT (seconds per readiness wait), DEMO_KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-python3}"
WAIT="${DEMO_TIMEOUT:-60}"
LOOPBACK=127.0.0.1
DEMO_DIR="$ROOT/.demo"

# ---------- output helpers ----------
if [[ -t 1 ]]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; D=$'\e[2m'; N=$'\e[0m'; else B= G= R= D= N=; fi
say() { printf '\n%s==>%s %s\n' "$B" "$N" "$*"; }
ok() { printf '    %sok%s %s\n' "$G" "$N" "$*"; }
die() { printf '%sdemo-credentials: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
# Mask every secret value in JSON on stdin: strings under "values", tokens, passwords.
mask() {
  "$PY" -c '
import json, sys
SECRET = {"access_token", "password", "client_secret", "token", "id_token", "assertion", "k", "d"}
def m(v):
    # A token keeps its telling prefix (eyJ = JWT, sts_ = third-party); nothing else does.
    if not isinstance(v, str):
        return v
    shown = v[:4] if v.startswith(("eyJ", "sts_")) else ""
    return shown + "\u2026(" + str(len(v)) + " chars)"
def walk(x, inside=False):
    if isinstance(x, dict):
        return {k: (m(v) if (inside or k in SECRET) and isinstance(v, str) else walk(v, inside or k == "values")) for k, v in x.items()}
    if isinstance(x, list):
        return [walk(v, inside) for v in x]
    return x
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        print("    " + json.dumps(walk(json.loads(line)), indent=None))
    except ValueError:
        print("    <not JSON: " + str(len(line)) + " chars, not shown>")
'
}
# jget FILE PATH: a value of a JSON file by dotted path (list indexes are numbers).
jget() {
  "$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    v = v[int(part)] if isinstance(v, list) else v[part]
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "$2"
}
# claims JWT_FILE: the decoded (unverified) claims of a JWT, for display.
claims() {
  "$PY" -c '
import base64, json, sys
t = open(sys.argv[1]).read().strip()
p = t.split(".")[1]
print(json.dumps(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))))
' "$1"
}

# ---------- process bookkeeping: only what we started, by PID (scripts/procs.sh) ----------
source "$ROOT/scripts/procs.sh"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_started
  if [[ $rc -ne 0 && -n "$RUN_DIR" && -f "$RUN_DIR/devstack.log" ]]; then
    printf '%s--- last lines of devstack.log ---%s\n' "$D" "$N" >&2
    tail -n 20 "$RUN_DIR/devstack.log" | cut -c1-300 >&2
  fi
  if [[ -n "$RUN_DIR" && -d "$RUN_DIR" ]]; then
    if [[ "${DEMO_KEEP:-0}" == 1 ]]; then echo "demo-credentials: kept $RUN_DIR (holds secrets)" >&2; else rm -rf "$RUN_DIR"; fi
  fi
  [[ $rc -ne 0 ]] && printf '%sdemo-credentials failed (exit %d)%s\n' "$R" "$rc" "$N" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


umask 077
mkdir -p "$DEMO_DIR"
chmod 700 "$DEMO_DIR"
RUN_DIR="$(mktemp -d "$DEMO_DIR/creds.XXXXXX")"
SETTINGS="$RUN_DIR/settings.json"
SECRETS="$RUN_DIR/secrets"

# ---------- 1. build ----------
say "build: devstack, get-id-token, xaa (CLI), xaa-tool, lambda_invoke (dev profile)"
cargo build --quiet -p devstack -p get-id-token -p xaa-cli -p xaa-tool --bins
cargo build --quiet -p devstack --example lambda_invoke
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/debug"
for b in devstack get-id-token xaa xaa-tool examples/lambda_invoke; do [[ -x "$BIN/$b" ]] || die "missing binary $BIN/$b"; done

# ---------- 2. devstack ----------
say "devstack: Okta stand-in with resource connections and service apps; secrets as files"
start devstack "$BIN/devstack" --settings-file "$SETTINGS" --secrets-dir "$SECRETS"
wait_file "$SETTINGS" "$LAST_PID" devstack
OKTA_BASE_URL="$(jget "$SETTINGS" okta_base_url)"
AS_ID="$(jget "$SETTINGS" okta_custom_as_id)"
ISSUER="$OKTA_BASE_URL/oauth2/$AS_ID"
SECRET_ORN="$(jget "$SETTINGS" credentials.vaulted_secrets.0.resource)"
ACCOUNT_ORN="$(jget "$SETTINGS" credentials.service_accounts.0.resource)"
STS_RESOURCE="$(jget "$SETTINGS" credentials.resource_servers.0.resource)"
AGENT_KEY_FILE="$(jget "$SETTINGS" credentials.agent_key_file)"
echo "    okta              $OKTA_BASE_URL (custom AS $AS_ID)"
echo "    vaulted secret    $SECRET_ORN"
echo "    service account   $ACCOUNT_ORN"
echo "    resource server   $STS_RESOURCE"
"$PY" -c '
import json, sys
for c in json.load(open(sys.argv[1]))["credentials"]["m2m_clients"]:
    print("    service app       %-20s %s" % (c["client_id"], c["token_endpoint_auth_method"]))
' "$SETTINGS"

export OKTA_BASE_URL OKTA_CUSTOM_AS_ID="$AS_ID" OKTA_SCOPE="$(jget "$SETTINGS" okta_scope)"
export AGENT_CLIENT_ID="$(jget "$SETTINGS" agent_client_id)" AGENT_KEY_ID="$(jget "$SETTINGS" agent_key_id)"
unset AGENT_PRIVATE_KEY_SECRET_ID CLIENT_SECRET_SECRET_ID CLIENT_ID

# ---------- 3. sign in ----------
USER_LOGIN="${DEMO_USER:-$(jget "$SETTINGS" users.0.login)}"
USER_ID="$("$PY" -c 'import json,sys; print(next(u["id"] for u in json.load(open(sys.argv[1]))["users"] if u["login"] == sys.argv[2]))' "$SETTINGS" "$USER_LOGIN")"
say "sign-in: get-id-token --headless for $USER_LOGIN ($USER_ID)"
OIDC_SECRET_FILE="$RUN_DIR/oidc.secret"
jget "$SETTINGS" oidc_client_secret >"$OIDC_SECRET_FILE"
OKTA_BASE_URL="$OKTA_BASE_URL" OIDC_CLIENT_ID="$(jget "$SETTINGS" oidc_client_id)" \
  OIDC_CLIENT_SECRET="$(cat "$OIDC_SECRET_FILE")" \
  timeout "$WAIT" "$BIN/get-id-token" --headless --login-hint "$USER_LOGIN" \
    --port "$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')" \
    >"$RUN_DIR/id_token" 2>"$RUN_DIR/get-id-token.log" || die "get-id-token failed"
[[ "$(cat "$RUN_DIR/id_token")" == *.*.* ]] || die "get-id-token did not print a JWT"
ok "ID token in a 0600 file ($(wc -c <"$RUN_DIR/id_token") bytes, not shown)"

# xaa_run NAME ARGS...: the CLI with --reveal into a 0600 file; shows the masked JSON.
xaa_run() {
  local name=$1; shift
  local rc=0
  "$BIN/xaa" token "$@" --reveal >"$RUN_DIR/$name.json" 2>"$RUN_DIR/$name.err" || rc=$?
  mask <"$RUN_DIR/$name.json"
  return $rc
}
value_of() { # NAME FIELD -> the revealed value, into a 0600 file named NAME.FIELD
  jget "$RUN_DIR/$1.json" "values.$2" >"$RUN_DIR/$1.$2"
  echo "$RUN_DIR/$1.$2"
}
USER_ACCESS=(--subject-token-file "$RUN_DIR/id_token" --subject-token-type id_token --key-file "$AGENT_KEY_FILE")

# ---------- 4. user access: each kind once ----------
say "id-jag: token exchange for an ID-JAG (Cross App Access leg 1)"
xaa_run id-jag --grant id-jag --scope xaa:read "${USER_ACCESS[@]}" || die "id-jag failed: $(cat "$RUN_DIR/id-jag.err")"

say "vaulted-secret: $SECRET_ORN"
xaa_run vaulted --grant vaulted-secret --resource "$SECRET_ORN" "${USER_ACCESS[@]}" || die "vaulted-secret failed: $(cat "$RUN_DIR/vaulted.err")"

say "service-account: $ACCOUNT_ORN"
xaa_run account --grant service-account --resource "$ACCOUNT_ORN" "${USER_ACCESS[@]}" || die "service-account failed: $(cat "$RUN_DIR/account.err")"

say "oauth-sts: third-party token for $STS_RESOURCE (consent needed once per person)"
rc=0; xaa_run sts1 --grant oauth-sts --resource "$STS_RESOURCE" "${USER_ACCESS[@]}" || rc=$?
[[ $rc -eq 4 ]] || die "expected ConsentRequired (exit 4), got exit $rc: $(cat "$RUN_DIR/sts1.err")"
ok "exit 4 (ConsentRequired): the person opens interaction_uri"
URI="$(jget "$RUN_DIR/sts1.json" interaction_uri)"
[[ "$URI" == "$OKTA_BASE_URL/"* ]] || die "interaction_uri is not on the org"
TITLE="$(curl -fsS --max-time 10 "$URI" | sed -n 's:.*<title>\(.*\)</title>.*:\1:p')"
ok "GET interaction_uri: page \"$TITLE\""
TITLE="$(curl -fsS --max-time 10 -X POST --data decision=allow "$URI" | sed -n 's:.*<title>\(.*\)</title>.*:\1:p')"
ok "POST decision=allow: \"$TITLE\""
xaa_run sts --grant oauth-sts --resource "$STS_RESOURCE" "${USER_ACCESS[@]}" || die "oauth-sts after consent failed: $(cat "$RUN_DIR/sts.err")"
STS_TOKEN_FILE="$(value_of sts access_token)"
me() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$STS_TOKEN_FILE")" "$OKTA_BASE_URL/thirdparty/v1/me"; }
[[ "$(me)" == 200 ]] || die "the third-party API refused the fresh token"
ok "third-party API accepts it (200)"
say "revoke: xaa revoke (token_type_hint=oauth_sts)"
"$BIN/xaa" revoke --token-file "$STS_TOKEN_FILE" --key-file "$AGENT_KEY_FILE" 2>"$RUN_DIR/revoke.err" | mask \
  || die "revoke failed: $(cat "$RUN_DIR/revoke.err")"
[[ "$(me)" == 401 ]] || die "the third-party API still accepts the revoked token"
ok "third-party API now refuses it (401)"
rc=0; xaa_run sts2 --grant oauth-sts --resource "$STS_RESOURCE" "${USER_ACCESS[@]}" >/dev/null || rc=$?
[[ $rc -eq 0 ]] || die "a second oauth-sts request asked for consent again (exit $rc)"
ok "a new request needs no second consent"

# ---------- 5. client credentials: every client authentication method ----------
cc() { # NAME CLIENT METHOD EXTRA...
  local name=$1 client=$2 method=$3; shift 3
  say "client-credentials: $client with $method $*"
  xaa_run "$name" --grant client-credentials --client-id "$client" --auth-method "$method" \
    --auth-server "$AS_ID" --scope xaa:read "$@" || die "client-credentials ($method) failed: $(cat "$RUN_DIR/$name.err")"
}
secret_file() { jget "$SETTINGS" "credentials.m2m_clients.$1.client_secret_file"; }
cc cc-basic 0oadevstackm2m client_secret_basic --client-secret-file "$(secret_file 0)"
cc cc-post 0oadevstackm2m client_secret_post --client-secret-file "$(secret_file 0)"
KEY_CLIENT_FILE="$(jget "$SETTINGS" credentials.m2m_clients.2.key_file)"
AGENT_KEY_ID=0oadevstackm2mkey-key cc cc-key 0oadevstackm2mkey private_key_jwt --key-file "$KEY_CLIENT_FILE"
cc agbac 0oadevstackagbac client_secret_jwt --client-secret-file "$(secret_file 1)" --act-sub "$USER_ID"
AGBAC_TOKEN_FILE="$(value_of agbac access_token)"
echo "    claims: $(claims "$AGBAC_TOKEN_FILE" | "$PY" -c 'import json,sys; c=json.load(sys.stdin); print(json.dumps({k: c.get(k) for k in ("sub","cid","act","scp","aud")}))')"

# ---------- 6. machine access: the service app's token as the subject ----------
say "machine access: vaulted-secret with a client-credentials access token as subject_token"
MACHINE_TOKEN_FILE="$(value_of cc-basic access_token)"
xaa_run machine --grant vaulted-secret --resource "$SECRET_ORN" --subject-token-file "$MACHINE_TOKEN_FILE" \
  --subject-token-type access_token --key-file "$AGENT_KEY_FILE" || die "machine access failed: $(cat "$RUN_DIR/machine.err")"

# ---------- 7. AGBAC at the tool Lambda ----------
API_URL="$(jget "$SETTINGS" api_url)"
"$PY" - "$AGBAC_TOKEN_FILE" "$RUN_DIR/event.json" <<'PY'
import json, sys
token = open(sys.argv[1]).read().strip()
event = {"messageVersion": "1.0", "agent": {"name": "demo", "id": "DEVAGENT01", "alias": "DEVALIAS01", "version": "1"},
         "inputText": "Who am I?", "sessionId": "demo-credentials", "actionGroup": "tickets-api",
         "function": "get_me", "parameters": [], "sessionAttributes": {"oktaAccessToken": token},
         "promptSessionAttributes": {}}
with open(sys.argv[2], "w") as f:
    json.dump(event, f)
PY
tool() { # MODEL -> prints the tool's answer; its log in tool-MODEL.log
  local model=$1
  env -u AWS_PROFILE -u AWS_ENDPOINT_URL \
    TOOL_ISSUER="$ISSUER" TOOL_AUDIENCE="api://xaa-bridge-devstack" \
    TOOL_ALLOWED_CLIENTS=0oadevstackagbac TOOL_REQUIRED_SCOPES=xaa:read \
    TOOL_API_BASE_URL="$API_URL" TOOL_FUNCTIONS='{"get_me":{"method":"GET","path":"/me"}}' \
    ${model:+TOOL_SUBJECTS=$model} RUST_LOG=info \
    timeout 120 "$BIN/examples/lambda_invoke" "$RUN_DIR/event.json" --timeout 30 -- "$BIN/xaa-tool" \
    2>"$RUN_DIR/tool-${model:-default}.log"
}
# audit MODEL FIELD: a field of the tool's audit line (one JSON line per invocation).
audit() {
  "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{") and "\"audit\"" in line:
        print(json.loads(line).get(sys.argv[2]))
        break
' "$RUN_DIR/tool-$1.log" "$2"
}
show_tool() { # MODEL OUTPUT: the audit line's verdict and the tool's answer
  echo "    audit: outcome=$(audit "$1" outcome) reason=$(audit "$1" reason) agent=$(audit "$1" agent) person=$(audit "$1" person) api_status=$(audit "$1" api_status)"
  echo "$2" | "$PY" -c '
import json, sys
o = json.loads(sys.stdin.read())
fr = o["response"]["response"]["functionResponse"]
print("    answer: responseState=%s body=%s" % (fr.get("responseState", "(success)"), fr["responseBody"]["TEXT"]["body"][:140]))
'
}
say "AGBAC: the token at xaa-tool with TOOL_SUBJECTS=agbac (agent = sub, person = act.sub)"
AGBAC_OUT="$(tool agbac)" || die "xaa-tool did not answer (see $RUN_DIR/tool-agbac.log)"
show_tool agbac "$AGBAC_OUT"
[[ "$(audit agbac outcome)" == allowed && "$(audit agbac person)" == "$USER_ID" && "$(audit agbac agent)" == 0oadevstackagbac ]] \
  || die "xaa-tool (agbac) did not accept the AGBAC token"
ok "accepted: agent 0oadevstackagbac acting for $USER_ID"
echo "    ${D}(devstack's protected API reads the person from uid only, hence its answer above)${N}"
say "the same token at xaa-tool with the default model (xaa: agent = cid, person = uid)"
DEFAULT_OUT="$(tool "")" || die "xaa-tool did not answer (see $RUN_DIR/tool-default.log)"
show_tool default "$DEFAULT_OUT"
[[ "$(audit default outcome)" == refused && "$(audit default reason)" == person_missing ]] \
  || die "xaa-tool (default model) did not refuse the AGBAC token for its missing uid"
ok "refused: person_missing (no uid)"

say "done: every credential kind obtained once; nothing secret was printed"
