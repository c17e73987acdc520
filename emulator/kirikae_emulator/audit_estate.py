"""The story's estate for `kirikae audit runtimes`, `quotas` and `az`'s uneven targets (`seed audit`, after `seed story`): real findings
next to resources that are fine, in prod (protected) and dev, region ap-northeast-1.

prod:
  Lambda orders-legacy   python3.8 (deprecated 2024-10-14, updates blocked 2027-03-03) -> RT-001
  Lambda orders-api      python3.13                                                   -> fine
  RDS reports-legacy     MySQL 5.7.44, db.r6g.large, Multi-AZ (standard support ended
                         2024-02-29: Extended Support, year 3 from 2026-03-01)        -> RT-003
  RDS billing-current    MySQL 8.4.5                                                  -> fine
  ElastiCache sessions-legacy   Redis OSS 5.0.6 (standard support ended 2026-01-31)   -> RT-003
  ElastiCache sessions-current  Redis OSS 7.1                                         -> fine
  EC2 batch-al2          Amazon Linux 2 AMI (support ended 2026-06-30)                -> RT-006
  EC2 batch-al2023       Amazon Linux 2023 AMI                                        -> fine
  ALB web-uneven: target group web-uneven, 2 healthy targets in 1a, none in 1c      -> AZ-007
  ALB web-even:   target group web-even, one healthy target in 1a and one in 1c      -> fine
  Service Quotas: DB clusters raised to 80 (applied); On-Demand Standard vCPUs applied 32 with
  28 in use (AWS/Usage, put as AWS would publish it)                                 -> QUOTA-002
  DB instances at the default 40, a handful used                                    -> fine
dev:
  Service Quotas: DB clusters applied = the clusters dev has (at least 1)           -> QUOTA-001,
                  QUOTA-004 (a refresh into dev needs one more), QUOTA-003 (lower than prod)
  Lambda orders-legacy-dev python3.8                                                  -> RT-001 (medium)
  RDS reports-dev-pg     PostgreSQL 13.20 (standard support ended 2026-02-28)         -> RT-003 (medium)

Every resource is tagged env=<account env>, owner=shop (so the tags part has nothing to add).
Kept out of `seed story` itself: the sweep and refresh tests count the story's resources.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

from botocore.exceptions import ClientError

from . import seed

PROD, DEV, REGION = seed.PROD, seed.DEV, seed.REGION
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _tags(env: str) -> list[dict]:
    return [{"Key": "env", "Value": env}, {"Key": "owner", "Value": "shop"}]


def _code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buf.getvalue()


def _functions(endpoint: str, account: str, env: str, functions: dict[str, str]) -> dict[str, str]:
    iam = seed.client("iam", endpoint, account)
    role = iam.create_role(RoleName=f"orders-lambda-{env}", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    aws_lambda = seed.client("lambda", endpoint, account)
    out = {}
    for name, runtime in functions.items():
        f = aws_lambda.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handler",
                                       Code={"ZipFile": _code()}, Tags={"env": env, "owner": "shop"})
        out[name] = f["FunctionArn"]
    return out


def _db(rds, name: str, engine: str, version: str, cls: str, multi_az: bool, env: str) -> str:
    i = rds.create_db_instance(DBInstanceIdentifier=name, Engine=engine, EngineVersion=version,
                               DBInstanceClass=cls, AllocatedStorage=20, MasterUsername="shopadmin",
                               MasterUserPassword=f"{name}-emulator-only", MultiAZ=multi_az, Tags=_tags(env))
    return i["DBInstance"]["DBInstanceArn"]


def _instance(ec2, name_prefix: str, name: str, env: str, subnet: str | None = None) -> str:
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [f"{name_prefix}*"]}])["Images"]
    image = sorted(images, key=lambda i: i["Name"])[0]["ImageId"]
    spec = [{"ResourceType": "instance", "Tags": _tags(env) + [{"Key": "Name", "Value": name}]}]
    kw = {"SubnetId": subnet} if subnet else {}
    return ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             TagSpecifications=spec, **kw)["Instances"][0]["InstanceId"]


def _load_balancers(endpoint: str) -> dict[str, str]:
    """Two ALBs over 1a and 1c: one with its healthy targets all in 1a, one with one in each."""
    ec2 = seed.client("ec2", endpoint, PROD)
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": _tags("prod") + [{"Key": "Name", "Value": "web"}]}])["Vpc"]["VpcId"]
    subnets = {}
    for i, az in enumerate([f"{REGION}a", f"{REGION}c"]):
        subnets[az] = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{i}.0/24", AvailabilityZone=az, TagSpecifications=[
            {"ResourceType": "subnet", "Tags": _tags("prod") + [{"Key": "Name", "Value": f"web-{az[-1]}"}]}])["Subnet"]["SubnetId"]
    elbv2 = seed.client("elbv2", endpoint, PROD)
    out = {}
    for name, placement in [("web-uneven", [f"{REGION}a", f"{REGION}a"]), ("web-even", [f"{REGION}a", f"{REGION}c"])]:
        lb = elbv2.create_load_balancer(Name=name, Subnets=list(subnets.values()), Tags=_tags("prod"))
        lb = lb["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance",
                                       Tags=_tags("prod"))["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        targets = [_instance(ec2, "al2023-ami-2023.", f"{name}-{i + 1}", "prod", subnets[az])
                   for i, az in enumerate(placement)]
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": t, "Port": 80} for t in targets])
        out[f"{name}-lb"], out[f"{name}-tg"] = lb, tg
    return out


def _apply_quota(endpoint: str, account: str, service: str, code: str, value: float) -> None:
    import urllib.request

    body = json.dumps({"account": account, "region": REGION, "service": service, "code": code, "value": value})
    req = urllib.request.Request(f"{endpoint}/_kirikae/servicequotas", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()


def seed_quotas(endpoint: str) -> dict[str, str]:
    """Applied values and usage as described above."""
    _apply_quota(endpoint, PROD, "rds", "L-952B80B8", 80)
    _apply_quota(endpoint, PROD, "ec2", "L-1216C47A", 32)
    seed.client("cloudwatch", endpoint, PROD).put_metric_data(Namespace="AWS/Usage", MetricData=[{
        "MetricName": "ResourceCount", "Value": 28.0, "Unit": "None",
        "Dimensions": [{"Name": "Service", "Value": "EC2"}, {"Name": "Type", "Value": "Resource"},
                       {"Name": "Resource", "Value": "vCPU"}, {"Name": "Class", "Value": "Standard/OnDemand"}]}])
    dev_clusters = len(seed.client("rds", endpoint, DEV).describe_db_clusters()["DBClusters"])
    _apply_quota(endpoint, DEV, "rds", "L-952B80B8", max(dev_clusters, 1))
    return {"dev-db-clusters-quota": f"arn:aws:servicequotas:{REGION}:{DEV}:rds/L-952B80B8",
            "prod-vcpu-quota": f"arn:aws:servicequotas:{REGION}:{PROD}:ec2/L-1216C47A",
            "prod-db-instances-quota": f"arn:aws:servicequotas:{REGION}:{PROD}:rds/L-7B6409FD"}


def seed_runtimes(endpoint: str) -> dict[str, str]:
    """Creates the estate above; returns {name: ARN or id}."""
    out = _functions(endpoint, PROD, "prod", {"orders-legacy": "python3.8", "orders-api": "python3.13"})
    out.update(_functions(endpoint, DEV, "dev", {"orders-legacy-dev": "python3.8"}))

    rds = seed.client("rds", endpoint, PROD)
    out["reports-legacy"] = _db(rds, "reports-legacy", "mysql", "5.7.44", "db.r6g.large", True, "prod")
    out["billing-current"] = _db(rds, "billing-current", "mysql", "8.4.5", "db.t4g.medium", True, "prod")
    out["reports-dev-pg"] = _db(seed.client("rds", endpoint, DEV), "reports-dev-pg", "postgres", "13.20",
                                "db.t4g.medium", False, "dev")

    ec = seed.client("elasticache", endpoint, PROD)
    for name, version in [("sessions-legacy", "5.0.6"), ("sessions-current", "7.1")]:
        c = ec.create_cache_cluster(CacheClusterId=name, Engine="redis", EngineVersion=version,
                                    CacheNodeType="cache.t4g.micro", NumCacheNodes=1, Tags=_tags("prod"))
        out[name] = c["CacheCluster"]["ARN"]

    ec2 = seed.client("ec2", endpoint, PROD)
    out["batch-al2"] = _instance(ec2, "amzn2-ami-hvm-2.0.", "batch-al2", "prod")
    out["batch-al2023"] = _instance(ec2, "al2023-ami-2023.", "batch-al2023", "prod")
    out.update(_load_balancers(endpoint))
    out.update(seed_quotas(endpoint))
    return out


def main(args) -> int:
    from urllib.parse import urlparse

    from .server import LOOPBACK_HOSTS

    if (urlparse(args.endpoint).hostname or "") not in LOOPBACK_HOSTS:
        print(f"seed: refusing endpoint {args.endpoint}: only a local emulator on loopback is seeded", file=sys.stderr)
        return 2
    try:
        result = seed_runtimes(args.endpoint.rstrip("/"))
    except ClientError as e:
        print(f"seed audit: the emulator refused a call (run `seed story` first?): {e}", file=sys.stderr)
        return 1
    if args.quiet:
        print(json.dumps(result))
        return 0
    print(f"Seeded the audit estate in prod ({PROD}) and dev ({DEV}), {REGION}:")
    for name, ident in result.items():
        print(f"  {name:<18} {ident}")
    return 0
