#!/usr/bin/env bash
# The API against its contract, openapi.yaml, with schemathesis: no 5xx, every status, header
# and body as the contract says, 405 with Allow for methods it does not list.
#
#   BASE_URL=https://... API_KEY=... infra/smoke/contract.sh     (or: make contract ...)
#
# SMOKE_MAX_EXAMPLES (default 50) test cases per operation, SMOKE_SEED (default 1) for a
# reproducible run. The key goes through schemathesis.toml from the environment, never argv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
st="$root/.venv/bin/st"
[ -x "$st" ] || { echo "error: $st not found; run \`make contract\` (it installs infra/smoke/requirements.txt)" >&2; exit 1; }
: "${BASE_URL:?set BASE_URL (the API root)}" "${API_KEY:?set API_KEY (a key granting connector-health access)}"
export API_KEY
work="$(mktemp -d)"
st_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$st_pid" ]; then kill "$st_pid" 2>/dev/null || true; wait "$st_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# From a scratch directory, so nothing schemathesis writes lands in the tree. In the
# background, so that a signal stops it at once.
cd "$work"
"$st" --config-file "$here/schemathesis.toml" run "$root/openapi.yaml" \
  --url "$BASE_URL" --checks all \
  --max-examples "${SMOKE_MAX_EXAMPLES:-50}" --seed "${SMOKE_SEED:-1}" \
  --generation-with-security-parameters false --generation-database none --no-color &
st_pid=$!
status=0
wait "$st_pid" || status=$?
st_pid=""
exit "$status"
