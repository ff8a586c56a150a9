"""Seeds and inspects a local moto for the zip export (the demo and the tests), with boto3.

    python3 scripts/local_aws.py seed SPEC_JSON     # creates bucket, table, SES identity, objects, request item
    python3 scripts/local_aws.py inspect SPEC_JSON  # prints the item, objects, open multipart uploads, sent mail as JSON
"""
import json
import sys

import boto3


def clients(spec):
    kw = dict(endpoint_url=spec["endpoint"], region_name="us-east-1",
              aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("s3", **kw), boto3.client("dynamodb", **kw), boto3.client("ses", **kw)


def seed(spec):
    s3, ddb, ses = clients(spec)
    for bucket in {spec["bucket"], spec.get("dest_bucket", spec["bucket"])}:
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    try:
        ddb.create_table(TableName=spec["table"], BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "requestId", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "requestId", "KeyType": "HASH"}])
    except ddb.exceptions.ResourceInUseException:
        pass
    ses.verify_email_identity(EmailAddress=spec.get("sender", "noreply@example.com"))
    for obj in spec.get("objects", []):
        s3.upload_file(obj["file"], spec["bucket"], obj["key"])
    if "item" in spec:
        item = {"requestId": {"S": spec["item"]["requestId"]}, "status": {"S": "PENDING"},
                "email": {"S": spec["item"]["email"]},
                "files": {"L": [{"S": k} for k in spec["item"]["files"]]}}
        ddb.put_item(TableName=spec["table"], Item=item)


def inspect(spec):
    s3, ddb, ses = clients(spec)
    dest = spec.get("dest_bucket", spec["bucket"])
    item = ddb.get_item(TableName=spec["table"], Key={"requestId": {"S": spec["request_id"]}}, ConsistentRead=True).get("Item", {})
    flat = {k: list(v.values())[0] for k, v in item.items()}
    objects = [o["Key"] for o in s3.list_objects_v2(Bucket=dest).get("Contents", [])]
    uploads = s3.list_multipart_uploads(Bucket=dest).get("Uploads", [])
    quota = ses.get_send_quota()
    print(json.dumps({"item": flat, "objects": objects, "open_uploads": len(uploads),
                      "sent_last_24h": quota["SentLast24Hours"]}, default=str))


def mail(spec):
    """Prints the mail moto's SES captured (moto keeps it; nothing is delivered)."""
    import urllib.request
    with urllib.request.urlopen(spec["endpoint"] + "/moto-api/data.json") as r:
        data = json.load(r)
    for m in data.get("ses", {}).get("Message", []):
        print("From:    %s\nTo:      %s\nSubject: %s\n\n%s\n" % (
            m.get("source"), ", ".join(m.get("destinations", {}).get("ToAddresses", [])), m.get("subject"), m.get("body")))


if __name__ == "__main__":
    {"seed": seed, "inspect": inspect, "mail": mail}[sys.argv[1]](json.loads(sys.argv[2]))
