#!/usr/bin/env bash
# make demo: the whole chain, offline, on loopback, for two people (alice and bob):
#
#   sign-in (get-id-token --headless) -> xaa-bridge: leg 1 token exchange, leg 2 JWT bearer
#     -> InvokeAgent (devstack's Bedrock stand-in) -> the agent sends an action-group event
#     -> xaa-tool (the real binary, on devstack's tool Lambda Runtime API) verifies the
#        person's access token -> devstack's Okta-protected API (/me, /tickets)
#     -> the tool's answer folded into the agent's reply -> the bridge's answer.
#
#   devstack (Okta org AS + custom AS, Bedrock agent, protected API, tool Runtime API)
#   moto (Secrets Manager: the agent's private JWK)
#   cargo lambda watch (runs the real xaa-bridge binary) <-- cargo lambda invoke (event)
#
# Each person asks "Who am I?", "Show my tickets" and for the other person's first ticket;
# the demo fails unless each answer carries that person's own data and nothing of the other's.
#
# DEMO_FRONT=agentcore (make demo-agentcore) runs the AgentCore Runtime front door instead:
#   devstack's AgentCore Runtime stand-in (JWT authorizer on the ID token, session header)
#     --> xaa-bridge-agentcore on loopback --> Okta and Bedrock stand-ins
#
# Everything it starts is stopped by PID (process group) on exit, error or Ctrl-C.
# Knobs (environment): DEMO_TIMEOUT (seconds per readiness wait), DEMO_KEEP=1 (keep
# .demo/run.* and its logs; they hold the demo's private key).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MAKE="${MAKE:-make}"
VENV_BIN="$ROOT/.venv/bin"
PY="$VENV_BIN/python"
DEMO_DIR="$ROOT/.demo"
EVENT_FILE="$DEMO_DIR/event.json"
WAIT="${DEMO_TIMEOUT:-60}"
SECRET_NAME="xaa-bridge/demo/agent-private-jwk"
LOOPBACK=127.0.0.1
FRONT="${DEMO_FRONT:-lambda}"
[[ "$FRONT" == lambda || "$FRONT" == agentcore ]] || { echo "DEMO_FRONT must be lambda or agentcore" >&2; exit 2; }

# ---------- output helpers ----------
if [[ -t 1 ]]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; D=$'\e[2m'; N=$'\e[0m'; else B= G= R= D= N=; fi
source "$ROOT/scripts/procs.sh"
T0=$(now_ms)
STEP_T=$T0
STEPS=()
say() { printf '%s==>%s %s\n' "$B" "$N" "$*"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
step_done() { # record "name  took"
  local t; t=$(now_ms)
  STEPS+=("$(printf '%-40s %6d ms' "$1" $((t - STEP_T)))")
  STEP_T=$t
}
# Never show a token or key: JWTs, JWK private members and client secrets are masked.
scrub() {
  sed -E \
    -e '/agent_private_jwk|"d" *:/c\  <settings JSON with key material: not shown>' \
    -e 's/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/<jwt>/g' \
    -e 's/"(d|p|q|dp|dq|qi|k|client_secret|oidc_client_secret|access_token|id_token|assertion|client_assertion|subject_token)" *: *"[^"]*"/"\1":"<redacted>"/g' \
    -e 's/((access_token|id_token|assertion|client_assertion|subject_token|client_secret|code|code_verifier)=)[^& ]+/\1<redacted>/g'
}

# ---------- process bookkeeping: only what we started, by PID (scripts/procs.sh) ----------
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_started
  rm -f "$EVENT_FILE"
  if [[ $rc -ne 0 && $rc -ne 130 && $rc -ne 143 && -n "$RUN_DIR" && -d "$RUN_DIR" ]]; then
    for log in "$RUN_DIR"/*.log; do
      [[ -s "$log" ]] || continue
      printf '%s--- last lines of %s ---%s\n' "$D" "$(basename "$log")" "$N" >&2
      tail -n 25 "$log" | scrub | cut -c1-400 >&2
    done
  fi
  if [[ -n "$RUN_DIR" && -d "$RUN_DIR" ]]; then
    if [[ "${DEMO_KEEP:-0}" == 1 ]]; then echo "demo: kept $RUN_DIR" >&2; else rm -rf "$RUN_DIR"; fi
  fi
  [[ $rc -ne 0 ]] && printf '%sdemo failed (exit %d)%s\n' "$R" "$rc" "$N" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The function's own log lines from `cargo lambda watch` output: what follows
# "Running `...xaa-bridge`", without cargo-lambda's own INFO chatter; long lines cut.
lambda_lines() {
  if [[ "$FRONT" == agentcore ]]; then cat "$1"; return; fi
  awk '/Running `.*xaa-bridge`/ {on=1; next} on' "$1" \
    | grep -vE 'action constructed|outcome resolved|terminating lambda|run\{config=|spawning|process group|concurrency-tokio|^\s*$' \
    | sed -E 's/Lambda runtime invoke\{[^}]*\}:invocation\{[^}]*\}: //'
}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
setting() { "$PY" "$ROOT/scripts/settings-get.py" "$SETTINGS" "$@"; }

# ---------- 1. tools ----------
say "setup: project venv with cargo-lambda, zig, moto (make setup)"
"$MAKE" --no-print-directory -s setup
export PATH="$VENV_BIN:$PATH"
command -v cargo-lambda >/dev/null || die "cargo-lambda is missing from $VENV_BIN"
step_done "setup (make setup)"

mkdir -p "$DEMO_DIR"
chmod 700 "$DEMO_DIR"
RUN_DIR="$(mktemp -d "$DEMO_DIR/run.XXXXXX")"
SETTINGS="$RUN_DIR/settings.json"

# ---------- 2. build ----------
# Built per package so that `cargo lambda watch` (which builds the xaa-bridge package
# alone) finds its artifacts ready instead of recompiling with other unified features.
say "build: xaa-bridge, xaa-bridge-agentcore, xaa-tool, get-id-token, devstack (dev profile)"
cargo build --quiet -p xaa-bridge --bins
cargo build --quiet -p xaa-bridge-agentcore -p xaa-tool -p get-id-token -p devstack --bins
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/debug"
for b in devstack get-id-token xaa-bridge xaa-bridge-agentcore xaa-tool; do [[ -x "$BIN/$b" ]] || die "missing binary $BIN/$b"; done
step_done "build (cargo build)"

# ---------- 3. devstack ----------
say "devstack: Okta, Bedrock agent, protected API and the tool's Lambda Runtime API on loopback"
# The front door's port is chosen now: devstack's AgentCore Runtime stand-in forwards to it.
INVOKE_PORT="$(free_port)"
start devstack env RUST_LOG="${DEVSTACK_LOG:-info}" "$BIN/devstack" --settings-file "$SETTINGS" \
  --agentcore-upstream "http://$LOOPBACK:$INVOKE_PORT" --tool-runtime
DEVSTACK_PID=$LAST_PID
wait_file "$SETTINGS" "$DEVSTACK_PID" devstack
chmod 600 "$SETTINGS"
OKTA_BASE_URL="$(setting okta_base_url)"
BEDROCK_URL="$(setting bedrock_endpoint_url)"
REGION="$(setting aws_region)"
wait_port "$LOOPBACK" "$(setting okta_base_url.port)" "$DEVSTACK_PID" "devstack (okta)"
wait_port "$LOOPBACK" "$(setting bedrock_endpoint_url.port)" "$DEVSTACK_PID" "devstack (bedrock)"
echo "    okta    $OKTA_BASE_URL  (custom AS $(setting okta_custom_as_id), scope $(setting okta_scope))"
echo "    bedrock $BEDROCK_URL  (agent $(setting bedrock_agent_id), alias $(setting bedrock_agent_alias_id))"
API_URL="$(setting api_url)"
TOOL_RUNTIME_API="$(setting tool_runtime_api)"
[[ -n "$TOOL_RUNTIME_API" ]] || die "devstack serves no tool Runtime API (is it older than --tool-runtime?)"
wait_port "$LOOPBACK" "$(setting api_url.port)" "$DEVSTACK_PID" "devstack (api)"
echo "    api     $API_URL  (/me, /tickets, /tickets/{id})"
echo "    tool    Lambda Runtime API $TOOL_RUNTIME_API  (action group $(setting tool_action_group))"
step_done "devstack ready"

# ---------- 3b. the tool Lambda ----------
say "tool: xaa-tool polling devstack's Lambda Runtime API, as Bedrock's action-group Lambda"
TOOL_ENV=(
  "AWS_LAMBDA_RUNTIME_API=$TOOL_RUNTIME_API"
  "AWS_LAMBDA_FUNCTION_NAME=xaa-tool"
  "TOOL_ISSUER=$OKTA_BASE_URL/oauth2/$(setting okta_custom_as_id)"
  "TOOL_AUDIENCE=$(setting api_audience)"
  "TOOL_ALLOWED_CLIENTS=$(setting agent_client_id)"
  "TOOL_REQUIRED_SCOPES=$(setting okta_scope)"
  "TOOL_API_BASE_URL=$API_URL"
  'TOOL_FUNCTIONS={"get_me":{"method":"GET","path":"/me"},"list_tickets":{"method":"GET","path":"/tickets"},"get_ticket":{"method":"GET","path":"/tickets/{id}"}}'
  "TOOL_SUBJECTS=xaa"
  "RUST_LOG=${DEMO_RUST_LOG:-info}"
)
start tool env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL \
  "${TOOL_ENV[@]}" "$BIN/xaa-tool"
TOOL_PID=$LAST_PID
# It has no port of its own: it polls /invocation/next. Give its init a moment, then it
# must still be running (a configuration error exits at once, with the reason in its log).
sleep 0.5
alive_or_die "$TOOL_PID" "xaa-tool"
echo "    xaa-tool running (pid $TOOL_PID)"
step_done "tool Lambda ready"

# ---------- 4. moto + the secret ----------
say "moto: Secrets Manager on loopback"
MOTO_PORT="$(free_port)"
MOTO_URL="http://$LOOPBACK:$MOTO_PORT"
start moto "$VENV_BIN/moto_server" -H "$LOOPBACK" -p "$MOTO_PORT"
MOTO_PID=$LAST_PID
wait_port "$LOOPBACK" "$MOTO_PORT" "$MOTO_PID" moto_server
echo "    moto    $MOTO_URL"
step_done "moto ready"

say "secret: store the agent's private JWK in Secrets Manager (moto)"
SECRET_ARN="$("$PY" "$ROOT/scripts/moto-put-secret.py" "$SETTINGS" "$MOTO_URL" "$SECRET_NAME")"
echo "    secret  $SECRET_ARN"
step_done "secret stored"

# ---------- 5. the front door (cargo lambda watch, or the AgentCore container) ----------
if [[ "$FRONT" == agentcore ]]; then
  say "front door: xaa-bridge-agentcore (the AgentCore Runtime container) pointing at the local stack"
else
  say "front door: cargo lambda watch with the Lambda's environment pointing at the local stack"
fi
ENV_FILE="$RUN_DIR/lambda.env"
LAMBDA_ENV=(
  "OKTA_BASE_URL=$OKTA_BASE_URL"
  "OKTA_CUSTOM_AS_ID=$(setting okta_custom_as_id)"
  "OKTA_SCOPE=$(setting okta_scope)"
  "OKTA_OIDC_CLIENT_ID=$(setting oidc_client_id)"
  "AGENT_CLIENT_ID=$(setting agent_client_id)"
  "AGENT_KEY_ID=$(setting agent_key_id)"
  "AGENT_PRIVATE_KEY_SECRET_ID=$SECRET_ARN"
  "BEDROCK_AGENT_ID=$(setting bedrock_agent_id)"
  "BEDROCK_AGENT_ALIAS_ID=$(setting bedrock_agent_alias_id)"
  "AWS_REGION=$REGION"
  "AWS_DEFAULT_REGION=$REGION"
  "AWS_ACCESS_KEY_ID=testing"
  "AWS_SECRET_ACCESS_KEY=testing"
  "AWS_ENDPOINT_URL_SECRETS_MANAGER=$MOTO_URL"
  "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME=$BEDROCK_URL"
  "AWS_EC2_METADATA_DISABLED=true"
  "AWS_CONFIG_FILE=/dev/null"
  "AWS_SHARED_CREDENTIALS_FILE=/dev/null"
  "RUST_LOG=${DEMO_RUST_LOG:-info}"
)
# KEY='VALUE' lines (cargo lambda reads them dotenv-style; a scope may hold spaces).
for kv in "${LAMBDA_ENV[@]}"; do printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}"; done >"$ENV_FILE"
if [[ "$FRONT" == agentcore ]]; then
  # The container binary, as AgentCore Runtime starts it, on a loopback port.
  start lambda env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL \
    "${LAMBDA_ENV[@]}" "BIND_ADDR=$LOOPBACK:$INVOKE_PORT" "$BIN/xaa-bridge-agentcore"
  WATCH_PID=$LAST_PID
  wait_port "$LOOPBACK" "$INVOKE_PORT" "$WATCH_PID" "xaa-bridge-agentcore"
  echo "    POST /invocations on $LOOPBACK:$INVOKE_PORT"
else
  # The function also inherits watch's environment: keep the user's AWS profile out of it.
  start lambda env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL \
    "${LAMBDA_ENV[@]}" \
    cargo lambda watch --invoke-address "$LOOPBACK" --invoke-port "$INVOKE_PORT" \
    --ignore-changes --env-file "$ENV_FILE" --bin xaa-bridge
  WATCH_PID=$LAST_PID
  wait_port "$LOOPBACK" "$INVOKE_PORT" "$WATCH_PID" "cargo lambda watch"
  echo "    runtime API on $LOOPBACK:$INVOKE_PORT"
fi
step_done "front door ready ($FRONT)"

# ---------- 6. invoke helpers ----------
invoke() { # data-file -> stdout: the function's answer (JSON); stderr to invoke.log
  if [[ "$FRONT" == agentcore ]]; then
    # As a caller of AgentCore's InvokeAgentRuntime: the ID token as the bearer (checked by
    # the runtime's JWT authorizer, forwarded through the header allow-list), the payload
    # without it, and a runtime session id.
    timeout 900 "$PY" - "$1" "$(setting agentcore_url)/runtimes/xaa-bridge-demo/invocations" 2>>"$RUN_DIR/invoke.log" <<'PY'
import json, os, sys, urllib.request, urllib.error
event = json.load(open(sys.argv[1]))
token = event.pop("id_token")
req = urllib.request.Request(sys.argv[2], data=json.dumps(event).encode(), method="POST", headers={
    "Content-Type": "application/json",
    "Authorization": "Bearer " + token,
    "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": os.environ["DEMO_RUNTIME_SESSION"]})
try:
    with urllib.request.urlopen(req, timeout=900) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode()); sys.stderr.write(f"HTTP {e.code}\n"); sys.exit(1)
PY
  else
    timeout 900 cargo lambda invoke xaa-bridge --invoke-address "$LOOPBACK" --invoke-port "$INVOKE_PORT" \
      --data-file "$1" --output-format json 2>>"$RUN_DIR/invoke.log"
  fi
}
json_field() { "$PY" -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
    print(d.get(sys.argv[1], "") if isinstance(d, dict) else "")
except Exception:
    print("")
' "$1"; }


# The people: the first two users of the settings, as "login<TAB>id<TAB>name" lines.
mapfile -t PEOPLE < <("$PY" -c '
import json, sys
users = json.load(open(sys.argv[1]))["users"]
for u in users[:2]:
    print("\t".join((u["login"], u["id"], u["name"])))
' "$SETTINGS")
(( ${#PEOPLE[@]} == 2 )) || die "devstack must have two users (alice and bob by default)"
IFS=$'\t' read -r LOGIN_1 ID_1 NAME_1 <<<"${PEOPLE[0]}"
IFS=$'\t' read -r LOGIN_2 ID_2 NAME_2 <<<"${PEOPLE[1]}"

# The answers, kept for the report and the checks.
declare -A ANSWERS=()
SESSIONS=()
FAILED=""
CHECKS=()

# turn N PROMPT [SESSION]: one invocation for person N (the event file holds their ID
# token); sets OUT (the answer) and SESSION_OUT, or fails the demo.
turn() {
  local n=$1 prompt=$2 session=${3:-}
  "$PY" -c '
import json, sys
e = json.load(open(sys.argv[1])); e["prompt"] = sys.argv[2]
if sys.argv[3]: e["session_id"] = sys.argv[3]
else: e.pop("session_id", None)
json.dump(e, open(sys.argv[1], "w"))
' "$EVENT_FILE" "$prompt" "$session"
  local raw rc
  set +e
  raw="$(DEMO_RUNTIME_SESSION="demo-agentcore-session-person-$n-$(printf '%010d' "$n")" invoke "$EVENT_FILE")"
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    printf '%sinvoke failed for person %s (%s):%s\n' "$R" "$n" "$prompt" "$N" >&2
    { printf '%s\n' "$raw"; cat "$RUN_DIR/invoke.log"; } | scrub | sed 's/^/  /' >&2
    exit 1
  fi
  OUT="$(printf '%s' "$raw" | json_field answer)"
  SESSION_OUT="$(printf '%s' "$raw" | json_field session_id)"
  [[ -n "$OUT" ]] || die "no answer for person $n ($prompt): $(printf '%s' "$raw" | scrub | head -c 400)"
}

# check DESCRIPTION TEXT MUST_CONTAIN... -- MUST_NOT_CONTAIN...
check() {
  local what=$1 text=$2; shift 2
  local mode=has word
  for word in "$@"; do
    if [[ "$word" == -- ]]; then mode=not; continue; fi
    if [[ $mode == has && "$text" != *"$word"* ]]; then
      FAILED+="  $what: missing \"$word\""$'\n'
    elif [[ $mode == not && "$text" == *"$word"* ]]; then
      FAILED+="  $what: must not contain \"$word\""$'\n'
    fi
  done
  CHECKS+=("$what")
}

for n in 1 2; do
  other=$(( 3 - n ))
  login_var="LOGIN_$n"; id_var="ID_$n"; name_var="NAME_$n"
  other_id_var="ID_$other"; other_name_var="NAME_$other"
  LOGIN="${!login_var}" ID="${!id_var}" NAME="${!name_var}"
  OTHER_ID="${!other_id_var}" OTHER_NAME="${!other_name_var}"

  # ---------- 7. sign in ----------
  say "person $n: sign-in (get-id-token --headless) as $LOGIN"
  CALLBACK_PORT="$(setting oidc_redirect_uri.port 2>/dev/null || free_port)"
  ID_TOKEN="$(
    OKTA_BASE_URL="$OKTA_BASE_URL" \
    OIDC_CLIENT_ID="$(setting oidc_client_id)" \
    OIDC_CLIENT_SECRET="$(setting --secret oidc_client_secret | cat)" \
    timeout "$WAIT" "$BIN/get-id-token" --headless --login-hint "$LOGIN" --port "$CALLBACK_PORT" \
      2>>"$RUN_DIR/get-id-token.log"
  )" || die "get-id-token failed for $LOGIN"
  [[ "$ID_TOKEN" == *.*.* ]] || die "get-id-token did not print a JWT"
  echo "    id_token received (${#ID_TOKEN} chars, not shown)"
  step_done "person $n: ID token (code + PKCE)"
  umask 077
  rm -f "$EVENT_FILE"
  printf '%s' "$ID_TOKEN" | "$PY" -c '
import json, sys
print(json.dumps({"prompt": "", "id_token": sys.stdin.read().strip()}))
' >"$EVENT_FILE"
  chmod 600 "$EVENT_FILE"
  unset ID_TOKEN

  # ---------- 8. three turns through the whole chain ----------
  say "person $n: \"Who am I?\" (cold: key, leg 1, leg 2, InvokeAgent, tool, API)"
  turn "$n" "Who am I?"
  ANSWERS[$n.me]="$OUT"
  SESSION="$SESSION_OUT"
  SESSIONS+=("$SESSION")
  step_done "person $n: who am I (cold)"
  check "person $n, who am I" "$OUT" "$ID" "$NAME" -- "$OTHER_ID" "$OTHER_NAME"

  say "person $n: \"Show my tickets\" in session $SESSION (warm: token from the cache)"
  turn "$n" "Show my tickets" "$SESSION"
  ANSWERS[$n.tickets]="$OUT"
  step_done "person $n: my tickets (warm)"
  check "person $n, my tickets" "$OUT" "TCK-${n}001" "TCK-${n}002" "$ID" -- "TCK-${other}0" "$OTHER_ID"

  say "person $n: \"Show ticket TCK-${other}001\" (the other person's ticket)"
  turn "$n" "Show ticket TCK-${other}001" "$SESSION"
  ANSWERS[$n.theirs]="$OUT"
  step_done "person $n: the other's ticket"
  check "person $n, other's ticket" "$OUT" "404" -- "$OTHER_ID" "TCK-${other}001" "\"title\""
  rm -f "$EVENT_FILE"
done
[[ "${SESSIONS[0]}" != "${SESSIONS[1]}" ]] || FAILED+="  both people got the same Bedrock session"$'\n'

# ---------- 9. report ----------
echo
for n in 1 2; do
  login_var="LOGIN_$n"
  printf '%s%s%s\n' "$B" "${!login_var}" "$N"
  printf '  %-14s %s\n' "who am I:" "${ANSWERS[$n.me]}" "my tickets:" "${ANSWERS[$n.tickets]}" \
    "other's ticket:" "${ANSWERS[$n.theirs]}" | scrub | cut -c1-600
done
echo
printf '%strace%s (steps, wall clock)\n' "$B" "$N"
printf '  %s\n' "${STEPS[@]}"
printf '  %-40s %6d ms\n' "total" $(( $(now_ms) - T0 ))
echo
printf '%sdevstack request log%s (tokens masked)\n' "$B" "$N"
grep -v '^[[:space:]]*$' "$RUN_DIR/devstack.log" | scrub | tail -n 40 | sed 's/^/  /' || true
echo
printf '%sLambda log%s (tokens masked)\n' "$B" "$N"
lambda_lines "$RUN_DIR/lambda.log" | scrub | cut -c1-400 | tail -n 30 | sed 's/^/  /' || true
echo
printf '%sxaa-tool log%s (tokens masked)\n' "$B" "$N"
grep -v '^[[:space:]]*$' "$RUN_DIR/tool.log" | scrub | cut -c1-400 | tail -n 20 | sed 's/^/  /' || true
echo

if [[ -n "$FAILED" ]]; then
  printf '%sdemo checks failed:%s\n%s' "$R" "$N" "$FAILED" >&2
  exit 1
fi
printf '%s%d checks passed:%s each person got their own data, never the other'"'"'s.\n' "$G" "${#CHECKS[@]}" "$N"
if [[ "$FRONT" == agentcore ]]; then
  printf '%sdemo OK:%s the hosted chain works end to end (sign-in -> AgentCore authorizer -> xaa-bridge-agentcore -> token exchange -> JWT bearer -> InvokeAgent -> action group (xaa-tool) -> protected API -> answer).\n' "$G" "$N"
else
  printf '%sdemo OK:%s the chain works end to end (sign-in -> token exchange -> JWT bearer -> InvokeAgent -> action group (xaa-tool) -> protected API -> answer).\n' "$G" "$N"
fi
