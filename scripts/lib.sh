# Shared by scripts/test, scripts/demo and scripts/bench: the Python virtualenv with the
# AWS emulator, and a moto server on a free loopback port. Source it; it needs only
# python3 and cargo.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

# Creates .venv with the pinned packages unless it already has them.
ensure_venv() {
  local stamp="$VENV/.requirements"
  if [ -x "$VENV/bin/python" ] && cmp -s "$ROOT/scripts/requirements.txt" "$stamp"; then
    return 0
  fi
  echo "setting up $VENV (moto server, hvac, the AWS CLI) ..." >&2
  python3 -m venv "$VENV" || { echo "error: python3 -m venv failed; install Python 3 with venv" >&2; return 1; }
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements.txt" >&2 || return 1
  cp "$ROOT/scripts/requirements.txt" "$stamp"
}

# Starts moto (with signature checks on) and reads its JSON greeting into MOTO_INFO.
# The server lives as long as file descriptor 9 (its stdin) stays open.
start_moto() {
  local fifo_dir
  fifo_dir=$(mktemp -d)
  mkfifo "$fifo_dir/in" "$fifo_dir/out"
  "$VENV/bin/python" "$ROOT/tests/support/moto_harness.py" <"$fifo_dir/in" >"$fifo_dir/out" &
  MOTO_PID=$!
  exec 9>"$fifo_dir/in"
  exec 8<"$fifo_dir/out"
  rm -rf "$fifo_dir"
  IFS= read -r MOTO_INFO <&8 || { echo "error: moto did not start" >&2; return 1; }
  MOTO_ENDPOINT=$(printf '%s' "$MOTO_INFO" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["endpoint"])')
}

# Sends one request line to the harness and prints its one-line JSON answer.
moto_call() {
  printf '%s\n' "$1" >&9
  local line
  IFS= read -r line <&8
  printf '%s\n' "$line"
}

stop_moto() {
  exec 9>&- 2>/dev/null || true
  exec 8<&- 2>/dev/null || true
  [ -n "${MOTO_PID:-}" ] && wait "$MOTO_PID" 2>/dev/null || true
}

# Reads one field of a JSON document on stdin.
json_field() {
  "$VENV/bin/python" -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"
}
