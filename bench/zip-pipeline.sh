#!/usr/bin/env bash
# Benchmark: zip-task against the aws-CLI reference pipeline, on the same data, in one run.
#
#   bench/zip-pipeline.sh [COUNT] [SIZE_MB]      (default 10 objects x 200 MB: 5 random, 5 log-like text)
#
# Reference: `aws s3 cp` each object down, `bsdtar --format zip -cf`, `aws s3 cp` the zip up,
# `aws s3 presign`. Then zip-task (release, static) on the same request, under /usr/bin/time -v.
# Prints both times, the ratio, each stage's time, both zip sizes and zip-task's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10}
size_mb=${2:-200}
scripts/setup-machine --no-docker >/dev/null

echo "== building zip-task (release, static)"
swift build -c release --static-swift-stdlib --product zip-task 2>&1 | grep -E 'error:|Build.*complete' || true
zip_task="$(swift build -c release --static-swift-stdlib --show-bin-path)/zip-task"

work=$(mktemp -d /var/tmp/zip-bench.XXXXXX)
trap 'kill ${moto_pid:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 100); do curl -sf "$endpoint/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

echo "== generating $count objects of $size_mb MB (half random, half log-like text)"
mkdir -p "$work/src"
python3 - "$work/src" "$count" "$size_mb" <<'PY'
import os, random, sys
d, count, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = size_mb * 1024 * 1024
for i in range(count):
    path = os.path.join(d, "obj-%02d.%s" % (i, "bin" if i % 2 == 0 else "log"))
    with open(path, "wb") as f:
        if i % 2 == 0:
            left = size
            while left:
                n = min(left, 8 << 20); f.write(os.urandom(n)); left -= n
        else:
            rnd = random.Random(i)
            lines = []
            total = 0
            while total < 16 << 20:
                line = "2026-11-27T%02d:%02d:%02d.%03dZ %s %s /api/v1/items/%d?user=%d status=%d bytes=%d ms=%d\n" % (
                    rnd.randrange(24), rnd.randrange(60), rnd.randrange(60), rnd.randrange(1000),
                    rnd.choice(["INFO", "INFO", "INFO", "WARN", "DEBUG"]), rnd.choice(["GET", "GET", "POST", "PUT"]),
                    rnd.randrange(100000), rnd.randrange(5000), rnd.choice([200, 200, 200, 201, 304, 404, 500]),
                    rnd.randrange(1 << 20), rnd.randrange(2000))
                lines.append(line); total += len(line)
            chunk = "".join(lines).encode()
            left = size
            while left:
                n = min(left, len(chunk)); f.write(chunk[:n]); left -= n
PY
python3 - "$endpoint" "$work/src" <<'PY'
import os, sys, boto3
endpoint, src = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
s3, ddb, ses = boto3.client("s3", **kw), boto3.client("dynamodb", **kw), boto3.client("ses", **kw)
s3.create_bucket(Bucket="bench")
ddb.create_table(TableName="zip-requests", BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "requestId", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "requestId", "KeyType": "HASH"}])
ses.verify_email_identity(EmailAddress="noreply@example.com")
keys = sorted(os.listdir(src))
for k in keys:
    s3.upload_file(os.path.join(src, k), "bench", "data/" + k)
ddb.put_item(TableName="zip-requests", Item={"requestId": {"S": "bench-1"}, "email": {"S": "bench@example.com"},
             "files": {"L": [{"S": "data/" + k} for k in keys]}})
PY
rm -rf "$work/src"

now() { date +%s.%N; }
elapsed() { python3 -c "print('%.1f' % ($2 - $1))"; }

echo "== reference: aws s3 cp + bsdtar --format zip + aws s3 cp + aws s3 presign"
mkdir -p "$work/ref"
t0=$(now)
for k in $(aws --endpoint-url "$endpoint" s3api list-objects-v2 --bucket bench --prefix data/ --query 'Contents[].Key' --output text); do
  aws --endpoint-url "$endpoint" s3 cp --quiet "s3://bench/$k" "$work/ref/${k#data/}"
done
t1=$(now)
(cd "$work/ref" && bsdtar --format zip -cf "$work/ref.zip" .)
t2=$(now)
aws --endpoint-url "$endpoint" s3 cp --quiet "$work/ref.zip" s3://bench/exports/reference.zip
t3=$(now)
aws --endpoint-url "$endpoint" s3 presign s3://bench/exports/reference.zip >/dev/null
t4=$(now)
ref_total=$(elapsed "$t0" "$t4")
ref_zip=$(stat -c %s "$work/ref.zip")
rm -rf "$work/ref" "$work/ref.zip"
echo "reference: download $(elapsed "$t0" "$t1") s, zip $(elapsed "$t1" "$t2") s, upload $(elapsed "$t2" "$t3") s, presign $(elapsed "$t3" "$t4") s; total $ref_total s; zip $ref_zip bytes"

echo "== zip-task"
mkdir -p "$work/efs"
t5=$(now)
REQUEST_ID=bench-1 SOURCE_BUCKET=bench WORK_DIR="$work/efs" AWS_ENDPOINT_URL="$endpoint" \
  /usr/bin/time -v -o "$work/time.txt" "$zip_task" >"$work/zip-task.log" 2>&1 || { tail -20 "$work/zip-task.log"; exit 1; }
t6=$(now)
zt_total=$(elapsed "$t5" "$t6")
cp "$work/zip-task.log" "${TMPDIR:-/tmp}/zip-task-bench.log"
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
zt_zip=$(sed -nE 's/.*stage=done msg="export complete".* zip_bytes=([0-9]+).*/\1/p' "$work/zip-task.log")
stage_t() { sed -nE "s/^t=([0-9.]+) .*$1.*/\\1/p" "$work/zip-task.log" | tail -1; }
fetch_done=$(stage_t 'stage=fetch msg=fetched')
zip_done=$(stage_t 'stage=zip msg=progress')
verified=$(stage_t 'stage=verify')
emailed=$(stage_t 'stage=email')
echo "zip-task: fetch finished at ${fetch_done} s, zip+upload stream finished at ${zip_done} s, verified at ${verified} s, emailed at ${emailed} s; total $zt_total s; zip $zt_zip bytes; peak RSS $((rss_kb / 1024)) MiB"
grep -E 'compression=' "$work/zip-task.log" | sed -E 's/^t=[0-9.]+ //' | awk '{print "  " $0}'

python3 - "$ref_total" "$zt_total" "$ref_zip" "$zt_zip" "$rss_kb" <<'PY'
import sys
ref, zt, ref_zip, zt_zip, rss = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print("== result")
print("speed-up (reference / zip-task): %.2fx   (target >= 4x)" % (ref / zt))
print("zip size (zip-task / reference): %.3f   (target <= 1.05)" % (zt_zip / ref_zip))
print("zip-task peak RSS: %.1f MiB          (target <= 64 MiB)" % (rss / 1024))
PY
