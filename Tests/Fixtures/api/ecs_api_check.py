"""Exercises every ECS and CloudWatch Logs operation fargate-local serves, through
boto3 (which parses each response with botocore's model). Prints one line per check
and exits non-zero on the first failure.

    python3 ecs_api_check.py ENDPOINT
"""
import json
import sys
import time

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="any", aws_secret_access_key="any")
ecs = boto3.client("ecs", **kw)
logs = boto3.client("logs", **kw)
checks = 0


def check(name, condition, detail=""):
    global checks
    checks += 1
    if not condition:
        print("FAIL %s %s" % (name, detail))
        sys.exit(1)
    print("ok %s" % name)


def error_of(fn, **args):
    try:
        fn(**args)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None, None


shell = {"family": "api-check", "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
         "containerDefinitions": [
             {"name": "main", "image": "busybox", "essential": True,
              "command": ["sh", "-c", "echo main says $GREETING; echo second line; exit ${CODE:-0}"],
              "environment": [{"name": "GREETING", "value": "hello"}],
              "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api-check", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}}}],
         "tags": [{"key": "team", "value": "platform"}]}

# Task definitions
r1 = ecs.register_task_definition(**shell)
check("register returns revision 1", r1["taskDefinition"]["revision"] == 1 and r1["taskDefinition"]["status"] == "ACTIVE")
check("register echoes tags", r1["tags"] == [{"key": "team", "value": "platform"}])
r2 = ecs.register_task_definition(**shell)
check("register again gives revision 2", r2["taskDefinition"]["revision"] == 2)
d = ecs.describe_task_definition(taskDefinition="api-check", include=["TAGS"])
check("describe latest", d["taskDefinition"]["revision"] == 2 and d["tags"][0]["key"] == "team")
check("describe keeps the document", d["taskDefinition"]["containerDefinitions"][0]["environment"] == [{"name": "GREETING", "value": "hello"}])
check("registeredAt is a timestamp", hasattr(d["taskDefinition"]["registeredAt"], "year"))
check("describe by family:revision", ecs.describe_task_definition(taskDefinition="api-check:1")["taskDefinition"]["revision"] == 1)
check("describe by ARN", ecs.describe_task_definition(taskDefinition=r1["taskDefinition"]["taskDefinitionArn"])["taskDefinition"]["revision"] == 1)
code, msg = error_of(ecs.describe_task_definition, taskDefinition="nope")
check("describe missing is ClientException", code == "ClientException", msg)
bad = dict(shell, cpu="300")
code, msg = error_of(ecs.register_task_definition, **bad)
check("invalid cpu is ClientException with ECS wording", code == "ClientException" and "Invalid 'cpu' setting for task." in msg, msg)
bad = json.loads(json.dumps(shell))
bad["containerDefinitions"][0]["dependsOn"] = [{"containerName": "ghost", "condition": "START"}]
code, msg = error_of(ecs.register_task_definition, **bad)
check("validation errors name the JSON path", code == "ClientException" and "containerDefinitions[0].dependsOn[0].containerName" in msg, msg)
bad = {k: v for k, v in shell.items() if k != "executionRoleArn"}
code, msg = error_of(ecs.register_task_definition, **bad)
check("awslogs on Fargate needs an execution role, in ECS's words", code == "ClientException" and "Fargate requires task definition to have execution role ARN to support log driver awslogs." in msg, msg)
arns = ecs.list_task_definitions(familyPrefix="api")["taskDefinitionArns"]
check("list task definitions", len(arns) == 2 and arns[0].endswith("api-check:1"))
page = ecs.list_task_definitions(maxResults=1)
check("list task definitions pages", len(page["taskDefinitionArns"]) == 1 and "nextToken" in page)
page2 = ecs.list_task_definitions(maxResults=1, nextToken=page["nextToken"])
check("next page differs", page2["taskDefinitionArns"] != page["taskDefinitionArns"])
check("list families", "api-check" in ecs.list_task_definition_families()["families"])
dr = ecs.deregister_task_definition(taskDefinition="api-check:1")
check("deregister marks INACTIVE", dr["taskDefinition"]["status"] == "INACTIVE")
check("inactive revisions are listed by status", len(ecs.list_task_definitions(familyPrefix="api-check", status="INACTIVE")["taskDefinitionArns"]) == 1)

# Clusters
check("default cluster exists", ecs.describe_clusters(clusters=["default"])["clusters"][0]["status"] == "ACTIVE")
c = ecs.create_cluster(clusterName="ci")
check("create cluster", c["cluster"]["clusterArn"].endswith(":cluster/ci"))
check("list clusters", any(a.endswith("/ci") for a in ecs.list_clusters()["clusterArns"]))
dc = ecs.describe_clusters(clusters=["ci", "ghost"])
check("describe clusters reports MISSING", dc["failures"][0]["reason"] == "MISSING" and dc["clusters"][0]["clusterName"] == "ci")
code, _ = error_of(ecs.run_task, cluster="ghost", taskDefinition="api-check")
check("unknown cluster is ClusterNotFoundException", code == "ClusterNotFoundException")

# RunTask, waiter, DescribeTasks
code, msg = error_of(ecs.run_task, taskDefinition="api-check", count=11)
check("count above 10 is InvalidParameterException", code == "InvalidParameterException", msg)
code, msg = error_of(ecs.run_task, taskDefinition="api-check", overrides={"containerOverrides": [{"name": "ghost"}]})
check("override of an unknown container is rejected", code == "InvalidParameterException" and "ghost" in msg, msg)
code, msg = error_of(ecs.run_task, taskDefinition="api-check", launchType="EC2")
check("EC2 finds no container instances, as in a cluster without any", code == "InvalidParameterException" and msg == "No Container Instances were found in your cluster.", msg)
code, msg = error_of(ecs.run_task, taskDefinition="api-check", launchType="FARGATE", capacityProviderStrategy=[{"capacityProvider": "FARGATE"}])
check("launch type and capacity provider strategy together are refused", code == "InvalidParameterException" and msg == "Specifying both a launch type and capacity provider strategy is not supported.", msg)
code, msg = error_of(ecs.run_task, taskDefinition="api-check", capacityProviderStrategy=[{"capacityProvider": "my-asg-provider", "weight": 1}])
check("a provider the cluster lacks is refused", code == "InvalidParameterException" and "not associated with the cluster" in msg, msg)
run = ecs.run_task(cluster="ci", taskDefinition="api-check", count=2, startedBy="api-check", tags=[{"key": "run", "value": "1"}],
                   overrides={"containerOverrides": [{"name": "main", "environment": [{"name": "GREETING", "value": "override"}, {"name": "CODE", "value": "3"}]}]},
                   clientToken="token-1")
tasks = run["tasks"]
check("run-task count 2", len(tasks) == 2 and run["failures"] == [])
check("new tasks are PROVISIONING, desired RUNNING", tasks[0]["lastStatus"] in ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "STOPPED") and tasks[0]["desiredStatus"] in ("RUNNING", "STOPPED"))
again = ecs.run_task(cluster="ci", taskDefinition="api-check", count=2, startedBy="api-check", tags=[{"key": "run", "value": "1"}],
                     overrides={"containerOverrides": [{"name": "main", "environment": [{"name": "GREETING", "value": "override"}, {"name": "CODE", "value": "3"}]}]},
                     clientToken="token-1")
check("clientToken makes RunTask idempotent", [t["taskArn"] for t in again["tasks"]] == [t["taskArn"] for t in tasks])
arns = [t["taskArn"] for t in tasks]
ecs.get_waiter("tasks_stopped").wait(cluster="ci", tasks=arns, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
desc = ecs.describe_tasks(cluster="ci", tasks=arns + ["0" * 32], include=["TAGS"])
t = desc["tasks"][0]
check("waiter saw STOPPED", all(x["lastStatus"] == "STOPPED" for x in desc["tasks"]))
check("essential exit code 3 reported", t["containers"][0]["exitCode"] == 3 and t["stopCode"] == "EssentialContainerExited", t)
check("stoppedReason", t["stoppedReason"] == "Essential container in task exited")
check("Fargate's attributes, ephemeral storage and empty networkBindings", t.get("attributes") == [{"name": "ecs.cpu-architecture", "value": "x86_64"}] and t.get("fargateEphemeralStorage") == {"sizeInGiB": 20} and t["containers"][0].get("networkBindings") == [], t)
check("health UNKNOWN without a health check, as ECS reports it", t["containers"][0].get("healthStatus") == "UNKNOWN" and t.get("healthStatus") == "UNKNOWN", t)
check("timestamps are datetimes", all(hasattr(t[k], "year") for k in ("createdAt", "startedAt", "stoppingAt", "stoppedAt")))
check("unknown task is MISSING", desc["failures"][0]["reason"] == "MISSING")
check("tags included on request", t["tags"] == [{"key": "run", "value": "1"}])
check("overrides are kept", t["overrides"]["containerOverrides"][0]["environment"][0]["value"] == "override")
check("group defaults to family", t["group"] == "family:api-check")
code, _ = error_of(ecs.describe_tasks, tasks=["x"] * 101)
check("more than 100 tasks is rejected", code == "InvalidParameterException")

# ListTasks filters
check("list running (none)", ecs.list_tasks(cluster="ci")["taskArns"] == [])
check("list stopped", set(ecs.list_tasks(cluster="ci", desiredStatus="STOPPED")["taskArns"]) == set(arns))
check("filter by family", len(ecs.list_tasks(cluster="ci", desiredStatus="STOPPED", family="api-check")["taskArns"]) == 2)
check("filter by startedBy", ecs.list_tasks(cluster="ci", desiredStatus="STOPPED", startedBy="nobody")["taskArns"] == [])
check("filter by launchType", len(ecs.list_tasks(cluster="ci", desiredStatus="STOPPED", launchType="FARGATE")["taskArns"]) == 2)
page = ecs.list_tasks(cluster="ci", desiredStatus="STOPPED", maxResults=1)
check("list tasks pages", len(page["taskArns"]) == 1 and "nextToken" in page)
check("other clusters are separate", ecs.list_tasks(cluster="default", desiredStatus="STOPPED", family="api-check")["taskArns"] == [])

# StopTask on a long task
long_def = {"family": "api-long", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "worker", "image": "busybox", "stopTimeout": 5,
                                      "command": ["sh", "-c", "trap 'echo got SIGTERM; exit 143' TERM; echo started; while true; do sleep 0.1; done"]}]}
ecs.register_task_definition(**long_def)
lt = ecs.run_task(taskDefinition="api-long")["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_running").wait(tasks=[lt], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
check("long task RUNNING", ecs.list_tasks(family="api-long")["taskArns"] == [lt])
code, _ = error_of(ecs.stop_task, task=lt, reason="x" * 256)
check("reason above 255 characters is rejected", code == "InvalidParameterException")
st = ecs.stop_task(task=lt, reason="stopped by the API check")
check("stop-task returns desiredStatus STOPPED", st["task"]["desiredStatus"] == "STOPPED")
ecs.get_waiter("tasks_stopped").wait(tasks=[lt], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
t = ecs.describe_tasks(tasks=[lt])["tasks"][0]
check("UserInitiated with the reason", t["stopCode"] == "UserInitiated" and t["stoppedReason"] == "stopped by the API check", t)
check("exit code after SIGTERM", t["containers"][0]["exitCode"] == 143)

# Inactive and deleted revisions: ECS runs no task from either, by name or by ARN.
for ref in ("api-check:1", dr["taskDefinition"]["taskDefinitionArn"]):
    code, msg = error_of(ecs.run_task, taskDefinition=ref)
    check("RunTask of an INACTIVE revision (%s) is refused in ECS's words" % ref, (code, msg) == ("InvalidParameterException", "TaskDefinition is inactive"), (code, msg))
long2 = ecs.register_task_definition(**long_def)["taskDefinition"]["taskDefinitionArn"]
lt2 = ecs.run_task(taskDefinition="api-long:2")["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_running").wait(tasks=[lt2], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
ecs.deregister_task_definition(taskDefinition="api-long:1")
ecs.deregister_task_definition(taskDefinition="api-long:2")
dt = ecs.delete_task_definitions(taskDefinitions=["api-long:1", long2, "api-check:2", "ghost:1"])
check("DeleteTaskDefinitions: INACTIVE revisions go DELETE_IN_PROGRESS",
      [(d["taskDefinitionArn"].split("/")[-1], d["status"]) for d in dt["taskDefinitions"]] == [("api-long:1", "DELETE_IN_PROGRESS"), ("api-long:2", "DELETE_IN_PROGRESS")], dt)
check("DeleteTaskDefinitions: an ACTIVE revision and an unknown one are failures",
      [f["arn"].split("/")[-1] for f in dt["failures"]] == ["api-check:2", "ghost:1"] and "ACTIVE" in dt["failures"][0]["reason"], dt["failures"])
code, msg = error_of(ecs.describe_task_definition, taskDefinition="api-long:1")
check("a deleted revision no task uses is gone", (code, msg) == ("ClientException", "Unable to describe task definition."), (code, msg))
check("one a running task uses stays DELETE_IN_PROGRESS", ecs.describe_task_definition(taskDefinition="api-long:2")["taskDefinition"]["status"] == "DELETE_IN_PROGRESS")
check("DELETE_IN_PROGRESS revisions are listed by status", ecs.list_task_definitions(familyPrefix="api-long", status="DELETE_IN_PROGRESS")["taskDefinitionArns"] == [long2])
code, msg = error_of(ecs.run_task, taskDefinition=long2)
check("RunTask of a DELETE_IN_PROGRESS revision is refused", (code, msg) == ("InvalidParameterException", "TaskDefinition is inactive"), (code, msg))
ecs.stop_task(task=lt2)
ecs.get_waiter("tasks_stopped").wait(tasks=[lt2], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
code, _ = error_of(ecs.describe_task_definition, taskDefinition="api-long:2")
check("once its task stopped, it is gone too", code == "ClientException")
check("a deleted family's revision numbers are not reused", ecs.register_task_definition(**long_def)["taskDefinition"]["revision"] == 3)
code, msg = error_of(ecs.list_task_definitions, status="DELETED")
check("an unknown status is InvalidParameterException", code == "InvalidParameterException" and "DELETE_IN_PROGRESS" in msg, msg)

# Tags
ecs.tag_resource(resourceArn=lt, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
ecs.untag_resource(resourceArn=lt, tagKeys=["a"])
check("task tags", ecs.list_tags_for_resource(resourceArn=lt)["tags"] == [{"key": "b", "value": "2"}])
tdarn = r2["taskDefinition"]["taskDefinitionArn"]
ecs.tag_resource(resourceArn=tdarn, tags=[{"key": "team", "value": "infra"}])
check("task definition tags", ecs.list_tags_for_resource(resourceArn=tdarn)["tags"] == [{"key": "team", "value": "infra"}])
check("cluster delete refuses nothing running", ecs.delete_cluster(cluster="ci")["cluster"]["status"] == "INACTIVE")

# CloudWatch Logs
groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
check("log groups", "/ecs/api-check" in groups and "/fargate-local/api-long" in groups, groups)
streams = logs.describe_log_streams(logGroupName="/ecs/api-check")["logStreams"]
names = [s["logStreamName"] for s in streams]
task_id = arns[0].split("/")[-1]
check("awslogs stream names", "app/main/%s" % task_id in names, names)
code, msg = error_of(logs.describe_log_streams, logGroupName="/ecs/api-check", logStreamNamePrefix="app/", orderBy="LastEventTime")
check("streams are ordered by event time only across the group, as CloudWatch says", (code, msg) == ("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."), (code, msg))
ev = logs.get_log_events(logGroupName="/ecs/api-check", logStreamName="app/main/%s" % task_id, startFromHead=True)
check("get-log-events returns the lines", [e["message"] for e in ev["events"]] == ["main says override", "second line"], ev["events"])
more = logs.get_log_events(logGroupName="/ecs/api-check", logStreamName="app/main/%s" % task_id, startFromHead=True, nextToken=ev["nextForwardToken"])
check("forward token at the end returns nothing new", more["events"] == [])
one = logs.get_log_events(logGroupName="/ecs/api-check", logStreamName="app/main/%s" % task_id, startFromHead=True, limit=1)
check("limit", len(one["events"]) == 1)
fl = logs.filter_log_events(logGroupName="/ecs/api-check", filterPattern="second")
code, _ = error_of(logs.filter_log_events, logGroupName="/ecs/api-check", logStreamNames=["app/main/%s" % task_id], logStreamNamePrefix="app/")
check("filter-log-events refuses stream names and a prefix together, as CloudWatch does", code == "InvalidParameterException", code)
check("filter-log-events", len(fl["events"]) == 2 and all(e["message"] == "second line" for e in fl["events"]))
# Times in CloudWatch Logs are whole milliseconds (ECS's are seconds).
stream = next(s for s in streams if s["logStreamName"] == "app/main/%s" % task_id)
now_ms = int(time.time() * 1000)
check("stream times are integer milliseconds: creation at the first event, last event the last line's",
      all(isinstance(stream[k], int) for k in ("creationTime", "firstEventTimestamp", "lastEventTimestamp"))
      and stream["creationTime"] == stream["firstEventTimestamp"] == ev["events"][0]["timestamp"]
      and stream["lastEventTimestamp"] == ev["events"][-1]["timestamp"]
      and 0 <= now_ms - stream["creationTime"] < 3_600_000, stream)
group = next(g for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/api-check")["logGroups"] if g["logGroupName"] == "/ecs/api-check")
check("group creationTime is integer milliseconds, at or before its streams'",
      isinstance(group["creationTime"], int) and group["creationTime"] <= stream["creationTime"] and 0 <= now_ms - group["creationTime"] < 3_600_000, group)
last_ts = ev["events"][-1]["timestamp"]
since_last = logs.filter_log_events(logGroupName="/ecs/api-check", logStreamNames=["app/main/%s" % task_id], startTime=last_ts)["events"]
check("filter-log-events from the last event's time on: that event, none before it",
      since_last and since_last[-1]["message"] == "second line" and all(e["timestamp"] >= last_ts for e in since_last), since_last)
check("filter-log-events after every event: none (no stream is read)",
      logs.filter_log_events(logGroupName="/ecs/api-check", startTime=now_ms + 3_600_000)["events"] == [])
until_first = logs.filter_log_events(logGroupName="/ecs/api-check", logStreamNames=["app/main/%s" % task_id], endTime=stream["firstEventTimestamp"])["events"]
check("filter-log-events up to the first event's time: it", until_first and until_first[0]["message"] == "main says override", until_first)
def fnv1a32(text):
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h
check("event ids are the same in every controller process (FNV-1a of the stream, then the index)",
      all(e["eventId"].split("-")[0] == str(fnv1a32(e["logStreamName"])) for e in fl["events"]), [e["eventId"] for e in fl["events"]])
code, _ = error_of(logs.get_log_events, logGroupName="/nope", logStreamName="x")
check("missing stream is ResourceNotFoundException", code == "ResourceNotFoundException")

# Capacity providers (after the log checks: these tasks write to the same log group)
ecs.create_cluster(clusterName="spot")
spot = ecs.run_task(cluster="spot", taskDefinition="api-check", count=5,
                    capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}])["tasks"]
check("capacity providers: base first, then by weight (FARGATE 1 + 1 of 4, FARGATE_SPOT 3 of 4)",
      [t.get("capacityProviderName") for t in spot] == ["FARGATE", "FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE_SPOT"] and all(t["launchType"] == "FARGATE" for t in spot),
      [t.get("capacityProviderName") for t in spot])
ecs.get_waiter("tasks_stopped").wait(cluster="spot", tasks=[t["taskArn"] for t in spot], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
spot_described = ecs.describe_tasks(cluster="spot", tasks=[spot[4]["taskArn"]])["tasks"][0]
check("capacityProviderName is kept", spot_described.get("capacityProviderName") == "FARGATE_SPOT", spot_described)

print("OK %d checks" % checks)
