#!/usr/bin/env bash
# Controller overhead, each side measured in the same run:
#  1. `fargate-local run --wait --runtime docker` of a one-container `true` task vs `docker run --rm` of the same image
#  2. `fargate-local run --wait --runtime process` of a `true` task vs a bare spawn of /bin/true
#  3. the same `true` task through a running `serve` (RunTask), by the controller's own createdAt..stoppedAt
#  4. TASKS tasks at once through `serve` (RunTask, process runtime), each printing MB of log; every line counted
#
#   bench/controller-overhead.sh [RUNS=10] [TASKS=100] [MB=10]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}; tasks=${2:-100}; mb=${3:-10}
scripts/setup-machine >/dev/null
echo "== building fargate-local (release, Swift runtime linked statically, as README's release build)"
swift build -c release --static-swift-stdlib --product fargate-local 2>&1 | grep -E 'error:|Build.*complete' || true
swift build -c release --static-swift-stdlib --product fargate-local-shim 2>&1 | grep -E 'error:|Build.*complete' || true
built="$(swift build -c release --static-swift-stdlib --show-bin-path)"
work=$(mktemp -d /var/tmp/overhead.XXXXXX)
# Measured as installed: copies. The same binary runs ~1 ms slower from where the linker
# wrote it than from any copy (BENCHMARKS.md, session 8); sessions 3-8 measured it in place.
mkdir -p "$work/bin"
cp "$built/fargate-local" "$built/fargate-local-shim" "$work/bin/"
bin="$work/bin/fargate-local"
trap 'kill ${serve_pid:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/true-docker.json" <<'JSON'
{"family": "bench-true", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "true", "image": "debian:bookworm-slim", "command": ["true"]}]}
JSON
cat > "$work/true-process.json" <<'JSON'
{"family": "bench-true-process", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "true", "image": "x", "command": ["/bin/true"]}]}
JSON
python3 - "$bin" "$work" "$runs" <<'PY'
import statistics, subprocess, sys, time
bin, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def once(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
def paired(a, b):
    """Medians of a and b, run alternately (in turn first and second) so that drift in the
    machine's load hits both; and the median of the per-pair differences b - a, which this
    VM's drift disturbs least."""
    sa, sb = [], []
    for i in range(runs):
        if i % 2:
            sb.append(once(b)); sa.append(once(a))
        else:
            sa.append(once(a)); sb.append(once(b))
    return statistics.median(sa), statistics.median(sb), statistics.median([y - x for x, y in zip(sa, sb)])
subprocess.run([bin, "run", "--wait", "-q", "--runtime", "docker", "--state-dir", work + "/state", work + "/true-docker.json"], check=True, stdout=subprocess.DEVNULL)
docker, fl_docker, docker_extra = paired(["docker", "run", "--rm", "debian:bookworm-slim", "true"],
                           [bin, "run", "--wait", "-q", "--runtime", "docker", "--state-dir", work + "/state", work + "/true-docker.json"])
bare, fl_process, process_extra = paired(["/bin/true"],
                          [bin, "run", "--wait", "-q", "--runtime", "process", "--state-dir", work + "/state", work + "/true-process.json"])
print("docker run --rm (median of %d):             %.3f s" % (runs, docker))
print("fargate-local run --wait --runtime docker:  %.3f s   ratio %.3fx (target <= 1.05x); paired: %+.1f ms = %.3fx" % (fl_docker, fl_docker / docker, docker_extra * 1000, 1 + docker_extra / docker))
print("bare spawn of /bin/true:                    %.4f s" % bare)
print("fargate-local run --wait --runtime process: %.4f s   overhead %.1f ms (target <= 5 ms); paired: %.1f ms" % (fl_process, (fl_process - bare) * 1000, process_extra * 1000))
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --runtime process --port "$port" --state-dir "$work/serve" >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

echo "== a /bin/true task through the running serve (no CLI start-up): the controller's createdAt..stoppedAt"
python3 - "http://127.0.0.1:$port" "$runs" <<'PY'
import statistics, subprocess, sys, time, boto3
endpoint, runs = sys.argv[1], int(sys.argv[2])
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
ecs.register_task_definition(family="true", networkMode="awsvpc", cpu="256", memory="512",
                             containerDefinitions=[{"name": "true", "image": "x", "command": ["/bin/true"]}])
lifetimes, spawns = [], []
for _ in range(runs * 3):
    arn = ecs.run_task(taskDefinition="true")["tasks"][0]["taskArn"]
    time.sleep(0.02)  # let it run undisturbed
    while (task := ecs.describe_tasks(tasks=[arn])["tasks"][0])["lastStatus"] != "STOPPED":
        time.sleep(0.05)  # the lifetime is the controller's own timestamps: poll gently, so the client does not compete for the CPU
    lifetimes.append((task["stoppedAt"] - task["createdAt"]).total_seconds())
    # The reference, a bare spawn, in the same conditions (a tight loop of spawns runs warmer).
    time.sleep(0.02)
    t = time.perf_counter(); subprocess.run(["/bin/true"]); spawns.append(time.perf_counter() - t)
life, bare = statistics.median(lifetimes), statistics.median(spawns)
print("task lifetime in serve (median of %d):      %.1f ms; bare spawn %.1f ms; overhead %.1f ms (target <= 5 ms)" % (len(lifetimes), life * 1000, bare * 1000, (life - bare) * 1000))
PY

echo "== $tasks tasks at once, each printing $mb MB of numbered lines"
python3 - "http://127.0.0.1:$port" "$tasks" "$mb" "$work/serve" <<'PY'
import glob, os, sys, time, boto3
endpoint, tasks, mb, state = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
line = "x" * 99  # 100 bytes with the newline, plus the number
lines = mb * 1024 * 1024 // 108
ecs.register_task_definition(family="chatty", networkMode="awsvpc", cpu="256", memory="512", containerDefinitions=[
    {"name": "c", "image": "x", "command": ["sh", "-c", "seq -f '%%07g %s' 1 %d" % (line, lines)]}])
t = time.perf_counter()
arns = []
for _ in range(0, tasks, 10):
    arns += [x["taskArn"] for x in ecs.run_task(taskDefinition="chatty", count=min(10, tasks - len(arns)))["tasks"]]
waiter = ecs.get_waiter("tasks_stopped")
for i in range(0, len(arns), 100):
    waiter.wait(tasks=arns[i:i + 100], WaiterConfig={"Delay": 1, "MaxAttempts": 600})
elapsed = time.perf_counter() - t
ok = 0
for arn in arns:
    tid = arn.split("/")[-1]
    path = glob.glob(os.path.join(state, "logs", "*", "c%%2F%s.log" % tid))
    if not path:
        continue
    with open(path[0]) as f:
        n = 0
        expected = 1
        good = True
        for row in f:
            msg = row.split("\t", 1)[1]
            if int(msg[:7]) != expected:
                good = False
            expected += 1
            n += 1
    ok += good and n == lines
print("%d tasks x %d lines (%d MB each): %.1f s; %d of %d streams complete and in order" % (len(arns), lines, mb, elapsed, ok, len(arns)))
PY
