#!/usr/bin/env bash
# Run a command with the local AWS emulators running, then stop them.
#
#   infra/devstack/scripts/with-emulators.sh COMMAND [ARGS...]
#
# Starts moto (DynamoDB + Secrets Manager) and dynalite (DynamoDB) on 127.0.0.1, each on a
# port the kernel picks, exports where they are, runs COMMAND, and stops both whatever way
# COMMAND ends. Exported for COMMAND:
#   AWS_ENDPOINT_URL        moto, the endpoint every AWS SDK client uses
#   DYNALITE_ENDPOINT_URL   dynalite, for the DynamoDB repository tests' second run
#   EMULATOR_PYTHON / EMULATOR_SCRIPT  how tests start an emulator of their own
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION  dummy values
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="$root/.venv/bin/python"

# The emulators' request logs go to files, not into the test output.
logdir="$root/target/emulators"
mkdir -p "$logdir"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# start NAME OUTVAR CMD...: start CMD in the background and read the port it prints.
start() {
  local name="$1" var="$2"; shift 2
  local fifo; fifo="$(mktemp -u)"; mkfifo "$fifo"
  "$@" > "$fifo" 2>> "$logdir/$name.log" &
  pids+=("$!")
  local port=""
  if ! read -r -t 60 port < "$fifo" || [ -z "$port" ]; then
    rm -f "$fifo"; echo "error: $name did not start; see $logdir/$name.log" >&2; exit 1
  fi
  rm -f "$fifo"
  printf -v "$var" '%s' "$port"
  echo "$name listening on 127.0.0.1:$port" >&2
}

start moto MOTO_PORT "$python" "$here/emulator.py"
start dynalite DYNALITE_PORT node "$here/dynalite.js"

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export DYNALITE_ENDPOINT_URL="http://127.0.0.1:$DYNALITE_PORT"
export EMULATOR_PYTHON="$python"
export EMULATOR_SCRIPT="$here/emulator.py"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
"$@"
