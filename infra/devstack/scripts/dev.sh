#!/usr/bin/env bash
# `make dev`: the Connector Health API on http://127.0.0.1:3000 against a local AWS emulator.
#
#   infra/devstack/scripts/dev.sh            (DEV_PORT=3001 for another port, DEV_PROBE_INTERVAL=10 to
#                                probe every 10 s instead of 30)
#
# Starts moto (DynamoDB + Secrets Manager) on 127.0.0.1 on a port the kernel picks, points
# the AWS SDK at it with dummy credentials, then runs `chadmin dev`: create the table and
# the key secret, start the demo upstreams on 127.0.0.1 and register their connectors,
# create the key `demo`, print it with a ready curl line, serve, and probe every connector
# at once and then every interval. Ctrl-C (or SIGTERM to this script) stops both; nothing
# is left running.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="$root/.venv/bin/python"
chadmin="${CHADMIN:-$root/target/debug/chadmin}"
port="${DEV_PORT:-3000}"
probe_interval="${DEV_PROBE_INTERVAL:-30}"

[ -x "$python" ] || { echo "error: $python not found; run \`make dev\` (it creates the venv)" >&2; exit 1; }
[ -x "$chadmin" ] || { echo "error: $chadmin not found; run \`cargo build -p chadmin -p connector-health-devstack\`" >&2; exit 1; }

emulator_pid=""
app_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$app_pid" ]; then kill -TERM "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  if [ -n "$emulator_pid" ]; then kill -TERM "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  echo "dev: stopped" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start the emulator and read the port it prints as its first line.
fifo="$(mktemp -u)"
mkfifo "$fifo"
# Its request log goes to a file, so the terminal shows the API's own log lines.
emulator_log="${TMPDIR:-/tmp}/connector-health-dev-emulator.log"
"$python" "$here/emulator.py" > "$fifo" 2> "$emulator_log" &
emulator_pid=$!
emulator_port=""
if ! read -r -t 60 emulator_port < "$fifo" || [ -z "$emulator_port" ]; then
  rm -f "$fifo"; echo "error: the AWS emulator did not start; see $emulator_log" >&2; exit 1
fi
rm -f "$fifo"
echo "dev: AWS emulator (moto) on 127.0.0.1:$emulator_port (log: $emulator_log)" >&2

export AWS_ENDPOINT_URL="http://127.0.0.1:$emulator_port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export CONNECTORS_TABLE=connector-health-dev
export API_KEYS_SECRET_ID=connector-health-dev/api-keys

# In the background so that a signal to this script is handled at once (bash runs traps
# only between commands, and `wait` is interruptible).
"$chadmin" dev --port "$port" --probe-interval "$probe_interval" &
app_pid=$!
status=0
wait "$app_pid" || status=$?
app_pid=""
exit "$status"
