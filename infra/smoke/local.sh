#!/usr/bin/env bash
# `make smoke-local` (run by `make test`): the smoke suite and schemathesis against the local stack.
#
#   infra/smoke/local.sh
#
# Starts moto on 127.0.0.1 (a port the kernel picks), creates a fresh table and key secret,
# creates an API key, and serves the API with `chadmin serve --port 0`. Then:
#   1. the smoke suite against the empty table (the checks that need rows say they skipped);
#   2. `chadmin seed-demo` (connectors in every state), and the smoke suite again; both runs
#      include the status page in headless Chromium (screenshots: target/status-page/);
#   3. schemathesis with openapi.yaml: no 5xx, every response matches the contract.
# Whatever way it ends, it stops what it started. Logs: target/smoke/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv"
chadmin="${CHADMIN:-$root/target/debug/chadmin}"

[ -x "$venv/bin/st" ] || { echo "error: $venv/bin/st not found; run \`make smoke-local\` (it installs infra/smoke/requirements.txt)" >&2; exit 1; }
[ -x "$chadmin" ] || { echo "error: $chadmin not found; run \`cargo build -p chadmin -p connector-health-devstack\`" >&2; exit 1; }

logdir="$root/target/smoke"
mkdir -p "$logdir"
work="$(mktemp -d)"
pids=()
step=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$step" ]; then kill "$step" 2>/dev/null || true; wait "$step" 2>/dev/null || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step CMD...: run CMD in the background and wait for it, so that a signal to this script is
# handled at once (bash runs traps only between commands; `wait` is interruptible).
step() {
  "$@" &
  step=$!
  local status=0
  wait "$step" || status=$?
  step=""
  return "$status"
}

# wait_for_line FILE PATTERN PID NAME: the first line of FILE matching PATTERN, within 60 s.
wait_for_line() {
  local file="$1" pattern="$2" pid="$3" name="$4" deadline=$((SECONDS + 60)) line
  while [ "$SECONDS" -lt "$deadline" ]; do
    line="$(grep -m1 -E "$pattern" "$file" 2>/dev/null || true)"
    if [ -n "$line" ]; then printf '%s\n' "$line"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: $name did not start; see $logdir" >&2
  return 1
}

"$venv/bin/python" "$root/infra/devstack/scripts/emulator.py" > "$work/moto.out" 2> "$logdir/moto.log" &
pids+=("$!")
moto_port="$(wait_for_line "$work/moto.out" '^[0-9]+$' "$!" moto)"
echo "smoke: moto on 127.0.0.1:$moto_port" >&2

export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
run_id="smoke-$$-$RANDOM"
export CONNECTORS_TABLE="$run_id"
export API_KEYS_SECRET_ID="$run_id/api-keys"

"$chadmin" init 2>> "$logdir/chadmin.log"
API_KEY="$("$chadmin" keys create --name smoke 2>> "$logdir/chadmin.log")"
export API_KEY

# The list read fresh on every request: the suite runs again right after seed-demo writes rows.
LIST_CACHE_SECONDS=0 "$chadmin" serve --port 0 > "$work/serve.out" 2> "$logdir/serve.log" &
pids+=("$!")
line="$(wait_for_line "$work/serve.out" '^listening on http://' "$!" "chadmin serve")"
export BASE_URL="${line#listening on }"
echo "smoke: API on $BASE_URL" >&2

# Python writes no bytecode into the tree; pytest keeps no cache (infra/smoke/pytest.ini).
export PYTHONDONTWRITEBYTECODE=1
# The status page's browser checks run here, never skipped (make test installs Chromium).
export STATUS_PAGE_BROWSER=required

echo "smoke: 1/3 the smoke suite against an empty table" >&2
step "$venv/bin/python" -m pytest "$here" -q

"$chadmin" seed-demo 2>> "$logdir/chadmin.log"
echo "smoke: 2/3 the smoke suite against the demo connectors" >&2
step "$venv/bin/python" -m pytest "$here" -q

echo "smoke: 3/3 schemathesis with openapi.yaml" >&2
step "$here/contract.sh"
