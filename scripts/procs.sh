# Process bookkeeping shared by the demo scripts (sourced, not run): only what a script
# started is stopped, by PID, each service in its own process group so its children go too.
# The sourcing script defines die() and WAIT (seconds per readiness wait) and sets RUN_DIR.

PIDS=()
RUN_DIR=""
now_ms() { date +%s%3N; }

# start NAME CMD... : run CMD in its own process group, output to $RUN_DIR/NAME.log
start() {
  local name=$1; shift
  setsid "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
  PIDS+=("$!")
  LAST_PID=$!
}

# TERM every started process group, wait up to 5 s each, then KILL what is left.
stop_started() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}

alive_or_die() { kill -0 "$1" 2>/dev/null || die "$2 exited early (see its log below)"; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() { # host port pid name
  local deadline=$(( $(now_ms) + WAIT * 1000 ))
  until port_open "$1" "$2"; do
    alive_or_die "$3" "$4"
    (( $(now_ms) < deadline )) || die "$4 did not open $1:$2 within ${WAIT}s"
    sleep 0.1
  done
}
wait_file() { # path pid name
  local deadline=$(( $(now_ms) + WAIT * 1000 ))
  until [[ -s "$1" ]]; do
    alive_or_die "$2" "$3"
    (( $(now_ms) < deadline )) || die "$3 did not write $1 within ${WAIT}s"
    sleep 0.1
  done
}
