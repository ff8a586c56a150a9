#!/usr/bin/env python3
"""Two fargate-local binaries side by side on the process path only: `run --wait` of a
one-container /bin/true task with each, in turn (A first on even rounds, B first on odd),
ROUNDS times; medians of each and of the per-round differences B - A. A control: the same
binary as A and B (expect about 0).

    bench/process-ab.py A/fargate-local B/fargate-local [ROUNDS=60]
"""
import statistics, subprocess, sys, time, tempfile, os
a, b, n = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 60
work = tempfile.mkdtemp(prefix="abp.", dir="/var/tmp")
f = os.path.join(work, "t.json")
open(f, "w").write('{"family": "abp", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "true", "image": "x", "command": ["/bin/true"]}]}')
def once(bin, tag):
    t = time.perf_counter()
    subprocess.run([bin, "run", "--wait", "-q", "--runtime", "process", "--state-dir", os.path.join(work, tag), f], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000
once(a, "a"); once(b, "b")
ra, rb, d = [], [], []
for i in range(n):
    if i % 2: y = once(b, "b"); x = once(a, "a")
    else: x = once(a, "a"); y = once(b, "b")
    ra.append(x); rb.append(y); d.append(y - x)
print("A %.2f  B %.2f  paired B-A %+.2f ms" % (statistics.median(ra), statistics.median(rb), statistics.median(d)))
