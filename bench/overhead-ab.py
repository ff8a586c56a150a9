#!/usr/bin/env python3
"""Two builds of fargate-local side by side, in one run: `run --wait` of a one-container
`true` task with each, against `docker run --rm` and a bare spawn, every command in turn,
RUNS times; medians. Build the old one at its commit into a folder of its own (with its
fargate-local-shim beside it), e.g.:

    git checkout OLD && swift build -c release --static-swift-stdlib && cp .build/release/fargate-local{,-shim} /var/tmp/oldbin/
    git checkout main && swift build -c release --static-swift-stdlib
    bench/overhead-ab.py /var/tmp/oldbin/fargate-local .build/release/fargate-local 30
"""
import os, statistics, subprocess, sys, tempfile, time
old, new = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 30
work = tempfile.mkdtemp(prefix="overhead-ab.", dir="/var/tmp")
for rt, image, cmd in (("docker", "debian:bookworm-slim", "true"), ("process", "x", "/bin/true")):
    with open(os.path.join(work, "true-%s.json" % rt), "w") as f:
        f.write('{"family": "ab-true-%s", "networkMode": "awsvpc", "cpu": "256", "memory": "512", '
                '"containerDefinitions": [{"name": "true", "image": "%s", "command": ["%s"]}]}' % (rt, image, cmd))
def m(cmd):
    t=time.perf_counter(); subprocess.run(cmd,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,check=True); return time.perf_counter()-t
def fl(b,rt,tag): return [b,"run","--wait","-q","--runtime",rt,"--state-dir",os.path.join(work,"state-"+tag),os.path.join(work,"true-%s.json"%rt)]
cases={"docker run --rm":["docker","run","--rm","debian:bookworm-slim","true"],
 "old docker":fl(old,"docker","old"),"new docker":fl(new,"docker","new"),
 "bare /bin/true":["/bin/true"],"old process":fl(old,"process","old"),"new process":fl(new,"process","new")}
for c in cases.values(): m(c)
r={k:[] for k in cases}
for i in range(n):
    # Forward then backward order in turn, so no command always follows the same one.
    for k,c in (list(cases.items()) if i % 2 == 0 else list(reversed(cases.items()))): r[k].append(m(c))
med={k:statistics.median(v) for k,v in r.items()}
for k,v in med.items(): print("%-16s %8.1f ms"%(k,v*1000))
print("docker ratio: old %.3fx  new %.3fx"%(med["old docker"]/med["docker run --rm"],med["new docker"]/med["docker run --rm"]))
def paired(a, b): return statistics.median([y - x for x, y in zip(r[a], r[b])]) * 1000
print("paired (median of per-round differences): old %+.1f ms, new %+.1f ms over docker run --rm; new %+.1f ms against old"
      % (paired("docker run --rm", "old docker"), paired("docker run --rm", "new docker"), paired("old docker", "new docker")))
print("process overhead over bare: old %.1f ms  new %.1f ms"%((med["old process"]-med["bare /bin/true"])*1000,(med["new process"]-med["bare /bin/true"])*1000))

# The same /bin/true task through a running `serve` of each build, alternately: the
# controller's own createdAt..stoppedAt, over a bare spawn.
import socket, boto3
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
servers, clients = [], {}
try:
    for tag, binary in (("old", old), ("new", new)):
        port = free_port()
        log = open(os.path.join(work, "serve-%s.log" % tag), "w")
        servers.append(subprocess.Popen([binary, "serve", "--runtime", "process", "--port", str(port),
                                         "--state-dir", os.path.join(work, "serve-" + tag)], stdout=log, stderr=log))
        ecs = boto3.client("ecs", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        for _ in range(100):
            try:
                ecs.list_clusters()
                break
            except Exception:
                time.sleep(0.1)
        ecs.register_task_definition(family="true", networkMode="awsvpc", cpu="256", memory="512",
                                     containerDefinitions=[{"name": "true", "image": "x", "command": ["/bin/true"]}])
        clients[tag] = ecs
    def lifetime(ecs):
        arn = ecs.run_task(taskDefinition="true")["tasks"][0]["taskArn"]
        time.sleep(0.02)  # let it run undisturbed
        while (task := ecs.describe_tasks(tasks=[arn])["tasks"][0])["lastStatus"] != "STOPPED":
            time.sleep(0.05)  # the lifetime is the controller's own timestamps: poll gently, so the client does not compete for the CPU
        return (task["stoppedAt"] - task["createdAt"]).total_seconds()
    lives = {"old": [], "new": []}
    spawns = []
    for _ in range(n * 3):
        for tag in ("old", "new"):
            lives[tag].append(lifetime(clients[tag]))
        spawns.append(m(["/bin/true"]))
    bare = statistics.median(spawns)
    print("serve lifetime over a bare spawn (%.2f ms): old %.2f ms  new %.2f ms" % (
        bare * 1000, (statistics.median(lives["old"]) - bare) * 1000, (statistics.median(lives["new"]) - bare) * 1000))
finally:
    for server in servers:
        server.terminate()
        server.wait()
    import shutil
    shutil.rmtree(work, ignore_errors=True)
