#!/usr/bin/env bash
# make bench: issue 4's figures, each beside a floor built in the same run, into bench/RESULTS.md.
#
#   1. make setup (quiet), release builds of xaa-bridge, the hello_floor example,
#      xaa-bridge-agentcore and lambda-bench with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (what
#      ships), and of today's xaa-bridge with AWS_LC_SYS_NO_JITTER_ENTROPY=0 (aws-lc's CPU
#      jitter entropy) in its own target dir, target/bench-jitter (its first build compiles
#      everything, aws-lc included: minutes on 2 cores); checks that aws-lc-sys saw 1 and 0
#   2. cargo bench --bench hot_paths        criterion micro-benchmarks, ours/baseline ratios
#   3. cargo lambda build --release --arm64 stripped arm64 bootstraps of xaa-bridge and hello_floor
#   4. lambda-bench                         both release binaries through the Lambda Runtime API
#                                           emulator against devstack (Okta, Bedrock) and moto
#                                           (Secrets Manager): init, cold/warm latency, Okta calls
#                                           per warm invocation, peak RSS after 10,000 invocations;
#                                           init + first invocation of fresh processes of the floor,
#                                           today's build (--baseline) and ours, side by side;
#                                           then xaa-bridge-agentcore beside the Python runtime of
#                                           Okta's guide (BedrockAgentCoreApp, dev/agentcore-parity/
#                                           app.py in guide mode): start-up to the first /ping 200,
#                                           warm /invocations p50/p99, peak RSS after 10,000 requests
#   5. lambda-bench --only verify           access-token verification per core, warm JWKS cache: the
#                                           verify crate beside Okta's own Node verifier
#                                           (@okta/jwt-verifier, make okta-verifier) on the same token
#   6. lambda-bench --only tool             the release xaa-tool (action-group Lambda) through the
#                                           Runtime API emulator against devstack's protected API:
#                                           warm invocation overhead beside the floor
#
# Figures only: nothing here fails on a timing. It fails when a step is broken.
# Knobs (environment):
#   BENCH_QUICK=1        shorter criterion runs and fewer init runs (same invocation counts)
#   BENCH_SKIP_ARM64=1   skip the arm64 builds (the first one takes ~13 minutes cold on 2 cores)
#   BENCH_USERS, BENCH_INVOCATIONS, BENCH_INIT_RUNS   override lambda-bench's counts
#                        (init runs also count the AgentCore start-ups of each runtime)
#   BENCH_AGENTCORE_WARM warm /invocations requests of each AgentCore runtime (default 2000)
#   BENCH_OUT            where to write the results (default bench/RESULTS.md)
#   BENCH_VERIFY_COUNT   verifications per round of each verifier (default 20000)
#   BENCH_TOOL_INVOCATIONS  warm invocations of xaa-tool and of the floor (default 2000)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MAKE="${MAKE:-make}"
VENV_BIN="$ROOT/.venv/bin"
ARM64_TARGET=aarch64-unknown-linux-gnu
OUT="${BENCH_OUT:-$ROOT/bench/RESULTS.md}"
QUICK="${BENCH_QUICK:-0}"
SKIP_ARM64="${BENCH_SKIP_ARM64:-0}"
USERS="${BENCH_USERS:-1000}"
INVOCATIONS="${BENCH_INVOCATIONS:-10000}"
AGENTCORE_WARM="${BENCH_AGENTCORE_WARM:-2000}"
VERIFY_COUNT="${BENCH_VERIFY_COUNT:-20000}"
TOOL_INVOCATIONS="${BENCH_TOOL_INVOCATIONS:-2000}"
JUDGE_DIR="$ROOT/dev/okta-verifier"
PARITY_APP="$ROOT/dev/agentcore-parity/app.py"
if [[ "$QUICK" == 1 ]]; then INIT_RUNS="${BENCH_INIT_RUNS:-10}"; else INIT_RUNS="${BENCH_INIT_RUNS:-20}"; fi

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
now_s() { date +%s; }
T0=$(now_s)

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
WORK="$TARGET_DIR/lambda-bench"
# Today's build (jitter entropy) has its own target dir: aws-lc-sys reruns its build script
# (minutes of C) whenever AWS_LC_SYS_NO_JITTER_ENTROPY changes, so the two settings must
# never take turns in one target dir.
JITTER_TARGET_DIR="$TARGET_DIR/bench-jitter"
mkdir -p "$WORK" "$(dirname "$OUT")"

# Every build of this script states its aws-lc entropy setting, so the comparison holds
# whatever .cargo/config.toml says: its [env] table does not override a variable already
# set (unless `force = true`, which aws_lc_jitter_seen below would catch).
#   ours    = AWS_LC_SYS_NO_JITTER_ENTROPY=1: aws-lc seeds its DRBG from the OS (getrandom)
#   today's = AWS_LC_SYS_NO_JITTER_ENTROPY=0: aws-lc's CPU jitter entropy, aws-lc-sys's
#             default on Linux, built in target/bench-jitter
ours() { AWS_LC_SYS_NO_JITTER_ENTROPY=1 "$@"; }
todays() { AWS_LC_SYS_NO_JITTER_ENTROPY=0 "$@"; }

# The value of AWS_LC_SYS_NO_JITTER_ENTROPY that aws-lc-sys's build script saw for this
# (already built, so fresh and quick) cargo build, from the script's recorded output;
# "unset" when it saw none, "none" when cargo reported no aws-lc-sys build script. Prints
# one value per aws-lc-sys build in the graph.
aws_lc_jitter_seen() {
  { "$@" --message-format=json 2>/dev/null || true; } | python3 -c '
import json, os, re, sys
seen = []
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "build-script-executed" or "aws-lc-sys" not in m.get("package_id", ""):
        continue
    out = os.path.join(os.path.dirname(m["out_dir"]), "output")
    text = open(out, encoding="utf-8", errors="replace").read()
    # The target-specific variable is read first and wins; the first match is what counted.
    found = re.findall(r"Environment Variable found .AWS_LC_SYS_NO_JITTER_ENTROPY(?:_[a-z0-9_]+)?.: .([^\x27]*).", text)
    seen.append(found[0] if found else "unset")
print(" ".join(seen) or "none")
'
}

# ---------- 1. tools and release builds ----------
say "setup (make setup)"
if ! "$MAKE" --no-print-directory -s setup >"$WORK/setup.log" 2>&1; then
  cat "$WORK/setup.log" >&2
  die "make setup failed"
fi
[[ -x "$VENV_BIN/moto_server" ]] || die "moto_server missing from $VENV_BIN (make setup)"
[[ -x "$VENV_BIN/python" ]] || die "python missing from $VENV_BIN (make setup)"
"$VENV_BIN/python" -c 'import bedrock_agentcore.runtime' 2>/dev/null \
  || die "bedrock-agentcore is not importable by $VENV_BIN/python (make setup)"
[[ -f "$PARITY_APP" ]] || die "missing $PARITY_APP (the guide's Python runtime)"
say "Okta's Node verifier (make okta-verifier)"
if ! "$MAKE" --no-print-directory -s okta-verifier >"$WORK/okta-verifier.log" 2>&1; then
  cat "$WORK/okta-verifier.log" >&2
  die "make okta-verifier failed (node 20+ and npm on PATH?)"
fi
[[ -f "$JUDGE_DIR/node_modules/@okta/jwt-verifier/package.json" ]] || die "@okta/jwt-verifier missing (make okta-verifier)"

# Separate cargo invocations on purpose: an example pulls in the dev-dependencies, and the
# driver depends on devstack and testkit, whose features (aws-sdk test-util, ...) would
# otherwise be unified into the shipped binaries.
say "release builds (AWS_LC_SYS_NO_JITTER_ENTROPY=1): xaa-bridge, examples/hello_floor, xaa-bridge-agentcore, lambda-bench"
ours cargo build --release --bin xaa-bridge
ours cargo build --release -p xaa-bridge --example hello_floor
ours cargo build --release -p xaa-bridge-agentcore --bin xaa-bridge-agentcore
ours cargo build --release -p bench --bin lambda-bench
ours cargo build --release -p xaa-tool --bin xaa-tool
say "release build of today's xaa-bridge (AWS_LC_SYS_NO_JITTER_ENTROPY=0) in $JITTER_TARGET_DIR"
todays cargo build --release --bin xaa-bridge --target-dir "$JITTER_TARGET_DIR"
BRIDGE="$TARGET_DIR/release/xaa-bridge"
BASELINE="$JITTER_TARGET_DIR/release/xaa-bridge"
FLOOR="$TARGET_DIR/release/examples/hello_floor"
AGENTCORE="$TARGET_DIR/release/xaa-bridge-agentcore"
DRIVER="$TARGET_DIR/release/lambda-bench"
TOOL="$TARGET_DIR/release/xaa-tool"
for b in "$BRIDGE" "$BASELINE" "$FLOOR" "$AGENTCORE" "$DRIVER" "$TOOL"; do [[ -x "$b" ]] || die "missing $b"; done
SEEN_OURS="$(aws_lc_jitter_seen ours cargo build --release --bin xaa-bridge)"
SEEN_TODAYS="$(aws_lc_jitter_seen todays cargo build --release --bin xaa-bridge --target-dir "$JITTER_TARGET_DIR")"
echo "    aws-lc-sys saw AWS_LC_SYS_NO_JITTER_ENTROPY=$SEEN_OURS for ours, =$SEEN_TODAYS for today's build"
[[ "$SEEN_OURS" == 1 ]] || die "ours was not built with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (aws-lc-sys saw: $SEEN_OURS)"
[[ "$SEEN_TODAYS" == 0 ]] \
  || die "today's build was not built with AWS_LC_SYS_NO_JITTER_ENTROPY=0 (aws-lc-sys saw: $SEEN_TODAYS; a .cargo/config.toml [env] entry with force = true?)"

# ---------- 2. criterion micro-benchmarks ----------
say "criterion: cargo bench --bench hot_paths"
CRITERION_ARGS=()
[[ "$QUICK" == 1 ]] && CRITERION_ARGS=(-- --warm-up-time 0.5 --measurement-time 1)
ours cargo bench -p xaa-bridge-core --bench hot_paths "${CRITERION_ARGS[@]}" 2>&1 | tee "$WORK/criterion.log"
# The bench prints a ratio table after criterion's own report: from its header to the end.
awk '/^benchmark +ours +baseline +ratio/ {on=1} on' "$WORK/criterion.log" >"$WORK/criterion-ratios.txt"
[[ -s "$WORK/criterion-ratios.txt" ]] || echo "(no ratio lines found; see $WORK/criterion.log)" >"$WORK/criterion-ratios.txt"

# ---------- 3. stripped arm64 binaries ----------
ARM64_ARGS=()
ARM64_NOTE="skipped (BENCH_SKIP_ARM64=1)"
ARM64_SECS=""
if [[ "$SKIP_ARM64" != 1 ]]; then
  say "arm64: cargo lambda build --release --arm64 (xaa-bridge, then hello_floor)"
  rustup target list --installed 2>/dev/null | grep -qx "$ARM64_TARGET" || rustup target add "$ARM64_TARGET"
  export PATH="$VENV_BIN:$PATH" VIRTUAL_ENV="$ROOT/.venv"
  t=$(now_s)
  ours cargo-lambda lambda build --release --arm64 --bin xaa-bridge
  ours cargo-lambda lambda build --release --arm64 --example hello_floor
  ARM64_SECS=$(( $(now_s) - t ))
  ARM64_BRIDGE="$TARGET_DIR/lambda/xaa-bridge/bootstrap"
  ARM64_FLOOR="$TARGET_DIR/lambda/hello_floor/bootstrap"
  for b in "$ARM64_BRIDGE" "$ARM64_FLOOR"; do [[ -f "$b" ]] || die "missing $b"; done
  ARM64_ARGS=(--arm64-bridge "$ARM64_BRIDGE" --arm64-floor "$ARM64_FLOOR")
  file "$ARM64_BRIDGE" "$ARM64_FLOOR" 2>/dev/null | sed 's/^/    /' || true
fi

# ---------- 4. the binaries through the Runtime API, then the AgentCore front door ----------
say "lambda-bench: $INVOCATIONS invocations by $USERS users, init over $INIT_RUNS runs (floor, today's, ours); then AgentCore"
"$DRIVER" --bridge "$BRIDGE" --floor "$FLOOR" --baseline "$BASELINE" --moto "$VENV_BIN/moto_server" \
  --agentcore "$AGENTCORE" --python "$VENV_BIN/python" --parity-app "$PARITY_APP" \
  --users "$USERS" --invocations "$INVOCATIONS" --init-runs "$INIT_RUNS" \
  --agentcore-warm "$AGENTCORE_WARM" \
  --arm64-note "$ARM64_NOTE" "${ARM64_ARGS[@]}" \
  --log-dir "$WORK" --markdown "$WORK/figures.md" --agentcore-markdown "$WORK/agentcore.md"
[[ -s "$WORK/agentcore.md" ]] || die "lambda-bench wrote no AgentCore figures ($WORK/agentcore.md)"

# ---------- 4b. token verification per core, beside Okta's Node verifier; the tool Lambda ----------
say "lambda-bench --only verify: $VERIFY_COUNT verifications per round, ours and @okta/jwt-verifier taking turns"
"$DRIVER" --only verify --judge-dir "$JUDGE_DIR" --verify-count "$VERIFY_COUNT" \
  --log-dir "$WORK" --verify-markdown "$WORK/verify.md"
[[ -s "$WORK/verify.md" ]] || die "lambda-bench wrote no verify figures ($WORK/verify.md)"
say "lambda-bench --only tool: $TOOL_INVOCATIONS warm invocations of xaa-tool beside the floor"
"$DRIVER" --only tool --tool "$TOOL" --floor "$FLOOR" --tool-invocations "$TOOL_INVOCATIONS" \
  --log-dir "$WORK" --tool-markdown "$WORK/tool.md"
[[ -s "$WORK/tool.md" ]] || die "lambda-bench wrote no tool figures ($WORK/tool.md)"

# ---------- 5. bench/RESULTS.md ----------
CPU="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
MEM="$(awk '/^MemTotal/ {printf "%.1f GB", $2/1e6}' /proc/meminfo 2>/dev/null || true)"
MODE="full"; [[ "$QUICK" == 1 ]] && MODE="quick (BENCH_QUICK=1)"
{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` (\`scripts/bench.sh\`); re-run it to refresh. Figures, not assertions."
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs${CPU:+ ($CPU)}${MEM:+, $MEM RAM}, $(uname -srm)"
  echo "- toolchain: $(rustc -V), $(cargo -V)"
  if [[ -n "$ARM64_SECS" ]]; then
    ARM64_DONE="${ARM64_SECS} s in this run (incremental: cargo reuses earlier artifacts; a cold one takes many minutes)"
  else
    ARM64_DONE="$ARM64_NOTE"
  fi
  echo "- mode: $MODE; arm64 builds: $ARM64_DONE"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo
  echo "## xaa-bridge against the floor"
  echo
  echo "The floor is \`bins/bridge-lambda/examples/hello_floor.rs\`: a \`lambda_runtime\` function answering"
  echo "\`{\"answer\": \"ok\"}\`, built in the same run with the same release profile. Both run as"
  echo "Lambda runs them: spawned with a Lambda environment, talking to the Runtime API emulator"
  echo "(\`devstack::runtime_api\`), one invocation at a time. xaa-bridge talks to devstack's Okta and"
  echo "Bedrock stand-ins and to moto (Secrets Manager), all on loopback."
  echo
  echo "xaa-bridge is built with \`AWS_LC_SYS_NO_JITTER_ENTROPY=1\` (aws-lc seeds its DRBG from the"
  echo "OS, without its CPU jitter entropy collector); \"today's build\" is the same source built with"
  echo "\`AWS_LC_SYS_NO_JITTER_ENTROPY=0\` in \`target/bench-jitter\` (the value aws-lc-sys's build"
  echo "script recorded: \`$SEEN_OURS\` for ours, \`$SEEN_TODAYS\` for today's build)."
  echo
  cat "$WORK/figures.md"
  echo
  echo "## How each figure is taken"
  echo
  echo "- **init**: from just before the process is spawned to its first \`GET /invocation/next\`"
  echo "  (the end of Lambda's init phase); median of fresh processes of each binary, run alternately,"
  echo "  after one discarded run each. xaa-bridge loads the agent key from Secrets Manager during"
  echo "  init; a timing TCP proxy in front of moto measures that round trip (TCP accept to the last"
  echo "  response byte), which is subtracted run by run for \"init without the Secrets Manager"
  echo "  round trip\". moto answers in a few ms on loopback; the real service takes longer, in region."
  echo "- **init + first invocation** (the cold start): each of those fresh processes then serves"
  echo "  one invocation; init plus that invocation, summed process by process, p50. Today's build"
  echo "  (\`--baseline\`) takes turns with ours in the same rotation, measured the same way."
  echo "- **cold path**: the first invocation of each user in one process: validation, ID token"
  echo "  verification, leg 1, leg 2, InvokeAgent, draining the stream."
  echo "- **warm path**: the other invocations, cycling over the users; the access token comes from"
  echo "  the cache. Each is followed by one floor invocation with the same event and one bare"
  echo "  \`InvokeAgent\` straight at the Bedrock stand-in (plain HTTP/1, keep-alive, an access token"
  echo "  the driver fetched itself). The overhead is \`ours − floor − bare agent\` per invocation;"
  echo "  the table gives its p50 and p99."
  echo "- **Okta calls per warm invocation**: devstack's leg 1 + leg 2 counters over the warm phase."
  echo "- **peak RSS**: \`VmHWM\` from \`/proc/<pid>/status\` after all invocations (1,000 distinct"
  echo "  users, so 1,000 cached access tokens and ID-JAGs)."
  echo "- **arm64 binary**: \`cargo lambda build --release --arm64\` output (\`strip = true\` in the"
  echo "  release profile), for the bin and for the example."
  echo "- **where**: every timing is taken on this host (x86_64, all CPUs available). In AWS the"
  echo "  function runs on arm64 with a CPU share set by its memory (1,769 MB buys one vCPU, so"
  echo "  256 MB is about a seventh of one): CPU-bound parts (init, signing, the one-time entropy"
  echo "  collection) take longer there. Ratios to the floor carry over better than absolute times."
  echo
  cat "$WORK/agentcore.md"
  echo
  cat "$WORK/verify.md"
  echo
  cat "$WORK/tool.md"
  echo
  echo "## Micro-benchmarks (criterion, \`cargo bench --bench hot_paths\`)"
  echo
  echo "Each hot path beside a baseline measured in the same run (see \`benches/hot_paths.rs\`);"
  echo "ratio = ours / baseline, criterion's mean estimates."
  echo
  echo '```'
  cat "$WORK/criterion-ratios.txt"
  echo '```'
} >"$OUT"

say "done in $(( $(now_s) - T0 )) s: $OUT"
