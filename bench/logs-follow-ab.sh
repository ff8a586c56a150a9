#!/usr/bin/env bash
# What following a large log stream costs, for two builds in one run: a process task writes
# 2,000,000 lines (119 MB) and sleeps; then, for each build, 10 s of
#  1. `logs -f` on the state directory: the follower's CPU time, and
#  2. `logs -f --endpoint` against a `serve` of that build: lines printed, and serve's CPU time.
#
#   bench/logs-follow-ab.sh OLD_BINARY NEW_BINARY
# Copy both binaries first (cp): see BENCHMARKS.md on running a binary where the linker wrote it.
set -euo pipefail
old=$1 new=$2
work=$(mktemp -d /var/tmp/logs-follow.XXXXXX)
trap 'pkill -f "serve --runtime process --port 8785" || true; rm -rf "$work"' EXIT
cat > "$work/big.json" <<'JSON'
{"family": "big", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "b", "image": "x",
   "command": ["sh", "-c", "seq 1 2000000 | sed 's/$/ some log text to make the line longer/'; sleep 1; echo last line; sleep 30"]}]}
JSON
cpu_ms() { awk '{print ($14 + $15) * 10}' "/proc/$1/stat"; }
for bin in "$old" "$new"; do
  state="$work/state-$(basename "$bin")"
  id=$("$bin" run --runtime process --state-dir "$state" "$work/big.json")
  sleep 6
  /usr/bin/time -f "$bin logs -f (state dir), 10 s: %U s user + %S s sys" timeout 10 "$bin" logs -f --state-dir "$state" "$id" >/dev/null || true
  "$bin" stop --time 0 --wait --state-dir "$state" "$id" >/dev/null

  "$bin" serve --runtime process --port 8785 --state-dir "$work/serve-$(basename "$bin")" >/dev/null 2>&1 &
  serve=$!
  for _ in $(seq 1 50); do curl -sf http://127.0.0.1:8785/health >/dev/null && break; sleep 0.1; done
  id=$("$bin" run --runtime process --endpoint http://127.0.0.1:8785 "$work/big.json" | tail -1)
  sleep 6
  before=$(cpu_ms $serve)
  lines=$(timeout 10 "$bin" logs -f --endpoint http://127.0.0.1:8785 "$id" | wc -l || true)
  echo "$bin logs -f --endpoint, 10 s: $lines lines; serve's CPU: $(( $(cpu_ms $serve) - before )) ms"
  kill $serve; wait $serve 2>/dev/null || true
done
