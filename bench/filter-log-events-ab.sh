#!/usr/bin/env bash
# Paging through a large log group with FilterLogEvents, for two builds in one run: a
# process task's three containers write 300,000 lines each (69 MB); then, against a `serve`
# of each build, boto3 pages through the group (limit 10,000, as `aws logs
# filter-log-events` asks, and 137), with and without a filter pattern. Prints the time
# each took and new/old.
#
#   bench/filter-log-events-ab.sh OLD_BINARY NEW_BINARY
# Copy both binaries first (cp): see BENCHMARKS.md on running a binary where the linker wrote it.
set -euo pipefail
old=$1 new=$2
work=$(mktemp -d /var/tmp/filter-ab.XXXXXX)
trap 'pkill -f "serve --runtime process --port 8786" || true; rm -rf "$work"' EXIT
containers=""
for c in a b c; do
  [ -n "$containers" ] && containers+=","
  containers+="{\"name\": \"$c\", \"image\": \"x\", \"essential\": $([ $c = c ] && echo true || echo false),
    \"command\": [\"sh\", \"-c\", \"seq -f '$c line %g of the big stream, with some padding to look like a log' 1 300000; sleep 0.5\"],
    \"logConfiguration\": {\"logDriver\": \"awslogs\", \"options\": {\"awslogs-group\": \"/bench/big\", \"awslogs-region\": \"us-east-1\", \"awslogs-stream-prefix\": \"t\"}}}"
done
echo "{\"family\": \"big-group\", \"executionRoleArn\": \"arn:aws:iam::000000000000:role/x\", \"networkMode\": \"awsvpc\", \"cpu\": \"256\", \"memory\": \"512\", \"containerDefinitions\": [$containers]}" > "$work/big.json"
for bin in "$old" "$new"; do
  "$bin" serve --runtime process --port 8786 --state-dir "$work/state-$(basename "$bin")" >/dev/null 2>&1 &
  serve=$!
  for _ in $(seq 1 50); do curl -sf http://127.0.0.1:8786/health >/dev/null && break; sleep 0.1; done
  python3 - http://127.0.0.1:8786 "$work/big.json" "$bin" "$work/times" <<'PY'
import boto3, json, sys, time
ep, tdf, name, out = sys.argv[1:5]
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
logs, ecs = boto3.client("logs", **kw), boto3.client("ecs", **kw)
td = json.load(open(tdf)); ecs.register_task_definition(**td)
arn = ecs.run_task(taskDefinition=td["family"])["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig={"Delay": 1})
with open(out, "a") as f:
    for limit, pattern in ((10000, ""), (10000, '"line 7"'), (137, "")):
        t, n, pages, token = time.time(), 0, 0, None
        while True:
            r = logs.filter_log_events(logGroupName="/bench/big", limit=limit, filterPattern=pattern, **({"nextToken": token} if token else {}))
            n, pages, token = n + len(r["events"]), pages + 1, r.get("nextToken")
            if not token or (limit == 137 and pages == 300): break
        took = time.time() - t
        print("%s: limit %5d, pattern %-10r %7d events in %3d pages: %6.2f s" % (name, limit, pattern, n, pages, took))
        f.write("%d %s %f\n" % (limit, pattern, took))
PY
  kill $serve; wait $serve 2>/dev/null || true
done
python3 - "$work/times" <<'PY'
import sys
rows = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
half = len(rows) // 2
for (limit, rest_old), (_, rest_new) in zip(rows[:half], rows[half:]):
    p_old, t_old = rest_old.rsplit(" ", 1); t_new = rest_new.rsplit(" ", 1)[1]
    print("limit %5s, pattern %-10s new/old: %.3f" % (limit, p_old or "''", float(t_new) / float(t_old)))
PY
