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
  EKS platform-legacy   Kubernetes 1.31 (standard support ended 2025-11-26, Extended
                        Support until 2026-11-26; upgrade policy EXTENDED)            -> RT-009
  EKS platform-current  Kubernetes 1.36                                               -> fine
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

Seeding again on the same emulator creates only what is missing (found by name, or by the Name tag
for VPCs, subnets and instances; a quota already at its value and a usage point of the last 24
hours are left as they are) and says that nothing changed.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

from botocore.exceptions import ClientError

from . import seed

PROD, DEV, REGION = seed.PROD, seed.DEV, seed.REGION


def _trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


LAMBDA_TRUST = _trust("lambda.amazonaws.com")
EKS_TRUST = _trust("eks.amazonaws.com")


def _tags(env: str) -> list[dict]:
    return [{"Key": "env", "Value": env}, {"Key": "owner", "Value": "shop"}]


class Estate:
    """What a seed made and what it found already there: {name: ARN or id} in the order seeded,
    and the names it had to create (a second seed on the same emulator creates none)."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.created: list[str] = []

    def add(self, name: str, ident: str, created: bool) -> str:
        self.ids[name] = ident
        if created:
            self.created.append(name)
        return ident

    def update(self, other: "Estate") -> None:
        self.ids.update(other.ids)
        self.created.extend(other.created)


def _code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buf.getvalue()


def _role(iam, name: str, trust: str) -> str:
    """The role's ARN, made if it does not exist."""
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as e:
        if seed._code(e) != "NoSuchEntity":
            raise
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]


def _functions(endpoint: str, account: str, env: str, functions: dict[str, str]) -> Estate:
    out = Estate()
    aws_lambda = seed.client("lambda", endpoint, account)
    existing = {f["FunctionName"]: f["FunctionArn"] for f in aws_lambda.list_functions()["Functions"]}
    if all(name in existing for name in functions):
        for name in functions:
            out.add(name, existing[name], False)
        return out
    role = _role(seed.client("iam", endpoint, account), f"orders-lambda-{env}", LAMBDA_TRUST)
    for name, runtime in functions.items():
        if name in existing:
            out.add(name, existing[name], False)
            continue
        f = aws_lambda.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handler",
                                       Code={"ZipFile": _code()}, Tags={"env": env, "owner": "shop"})
        out.add(name, f["FunctionArn"], True)
    return out


def _db(rds, out: Estate, name: str, engine: str, version: str, cls: str, multi_az: bool, env: str) -> None:
    found = {i["DBInstanceIdentifier"]: i["DBInstanceArn"] for i in rds.describe_db_instances()["DBInstances"]}
    if name in found:
        out.add(name, found[name], False)
        return
    i = rds.create_db_instance(DBInstanceIdentifier=name, Engine=engine, EngineVersion=version,
                               DBInstanceClass=cls, AllocatedStorage=20, MasterUsername="shopadmin",
                               MasterUserPassword=f"{name}-emulator-only", MultiAZ=multi_az, Tags=_tags(env))
    out.add(name, i["DBInstance"]["DBInstanceArn"], True)


def _named(ec2, kind: str, name: str, **filters: str) -> list[dict]:
    """The live VPCs, subnets or instances (kind) named `name` by their Name tag."""
    f = [{"Name": "tag:Name", "Values": [name]}] + [{"Name": k, "Values": [v]} for k, v in filters.items()]
    if kind == "instance":
        f.append({"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]})
        return [i for r in ec2.describe_instances(Filters=f)["Reservations"] for i in r["Instances"]]
    if kind == "vpc":
        return ec2.describe_vpcs(Filters=f)["Vpcs"]
    return ec2.describe_subnets(Filters=f)["Subnets"]


def _instance(ec2, out: Estate, name_prefix: str, name: str, env: str, subnet: str | None = None) -> str:
    found = _named(ec2, "instance", name)
    if found:
        return out.add(name, found[0]["InstanceId"], False)
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [f"{name_prefix}*"]}])["Images"]
    image = sorted(images, key=lambda i: i["Name"])[0]["ImageId"]
    spec = [{"ResourceType": "instance", "Tags": _tags(env) + [{"Key": "Name", "Value": name}]}]
    kw = {"SubnetId": subnet} if subnet else {}
    made = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             TagSpecifications=spec, **kw)["Instances"][0]["InstanceId"]
    return out.add(name, made, True)


def _web_network(ec2, out: Estate) -> tuple[str, dict[str, str]]:
    """The VPC `web` and its subnets in 1a and 1c."""
    found = _named(ec2, "vpc", "web", **{"cidr-block": "10.60.0.0/16"})
    if found:
        vpc = out.add("web-vpc", found[0]["VpcId"], False)
    else:
        vpc = out.add("web-vpc", ec2.create_vpc(CidrBlock="10.60.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": _tags("prod") + [{"Key": "Name", "Value": "web"}]}])["Vpc"]["VpcId"], True)
    subnets = {}
    for i, az in enumerate([f"{REGION}a", f"{REGION}c"]):
        name = f"web-{az[-1]}"
        found = _named(ec2, "subnet", name, **{"vpc-id": vpc})
        if found:
            subnets[az] = out.add(name, found[0]["SubnetId"], False)
            continue
        subnets[az] = out.add(name, ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{i}.0/24", AvailabilityZone=az, TagSpecifications=[
            {"ResourceType": "subnet", "Tags": _tags("prod") + [{"Key": "Name", "Value": name}]}])["Subnet"]["SubnetId"], True)
    return vpc, subnets


def _load_balancers(endpoint: str) -> Estate:
    """Two ALBs over 1a and 1c: one with its healthy targets all in 1a, one with one in each."""
    out = Estate()
    ec2 = seed.client("ec2", endpoint, PROD)
    vpc, subnets = _web_network(ec2, out)
    elbv2 = seed.client("elbv2", endpoint, PROD)
    lbs = {lb["LoadBalancerName"]: lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]}
    tgs = {tg["TargetGroupName"]: tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]}
    for name, placement in [("web-uneven", [f"{REGION}a", f"{REGION}a"]), ("web-even", [f"{REGION}a", f"{REGION}c"])]:
        if name in lbs:
            lb = out.add(f"{name}-lb", lbs[name], False)
        else:
            lb = out.add(f"{name}-lb", elbv2.create_load_balancer(
                Name=name, Subnets=list(subnets.values()), Tags=_tags("prod"))["LoadBalancers"][0]["LoadBalancerArn"], True)
        if name in tgs:
            tg = out.add(f"{name}-tg", tgs[name], False)
        else:
            tg = out.add(f"{name}-tg", elbv2.create_target_group(
                Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance",
                Tags=_tags("prod"))["TargetGroups"][0]["TargetGroupArn"], True)
        if not elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"]:
            elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                  DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
            out.created.append(f"{name}-listener")
        targets = [_instance(ec2, out, "al2023-ami-2023.", f"{name}-{i + 1}", "prod", subnets[az])
                   for i, az in enumerate(placement)]
        registered = {h["Target"]["Id"] for h in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
        missing = [t for t in targets if t not in registered]
        if missing:
            elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": t, "Port": 80} for t in missing])
            out.created.append(f"{name}-targets")
    return out


def _eks_clusters(endpoint: str) -> Estate:
    """prod's EKS clusters: platform-legacy on Kubernetes 1.31 (standard support ended 2025-11-26,
    Extended Support until 2026-11-26) and platform-current on 1.36, both on AWS's default upgrade
    policy (EXTENDED), in the subnets of the VPC `web`."""
    out = Estate()
    ec2 = seed.client("ec2", endpoint, PROD)
    _, subnets = _web_network(ec2, Estate())
    eks = seed.client("eks", endpoint, PROD)
    existing = set(eks.list_clusters()["clusters"])
    wanted = {"platform-legacy": "1.31", "platform-current": "1.36"}
    role = None
    for name, version in wanted.items():
        if name in existing:
            out.add(name, eks.describe_cluster(name=name)["cluster"]["arn"], False)
            continue
        role = role or _role(seed.client("iam", endpoint, PROD), "platform-eks", EKS_TRUST)
        c = eks.create_cluster(name=name, version=version, roleArn=role,
                               resourcesVpcConfig={"subnetIds": list(subnets.values())},
                               tags={t["Key"]: t["Value"] for t in _tags("prod")})["cluster"]
        out.add(name, c["arn"], True)
    return out


def _apply_quota(endpoint: str, account: str, service: str, code: str, value: float) -> bool:
    """Applies `value` unless it is applied already; whether it changed anything."""
    import urllib.request

    applied = seed.client("service-quotas", endpoint, account).list_service_quotas(ServiceCode=service)["Quotas"]
    if any(q["QuotaCode"] == code and q["Value"] == value for q in applied):
        return False
    body = json.dumps({"account": account, "region": REGION, "service": service, "code": code, "value": value})
    req = urllib.request.Request(f"{endpoint}/_kirikae/servicequotas", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()
    return True


VCPU_USAGE = [{"Name": "Service", "Value": "EC2"}, {"Name": "Type", "Value": "Resource"},
              {"Name": "Resource", "Value": "vCPU"}, {"Name": "Class", "Value": "Standard/OnDemand"}]


def _vcpu_usage(endpoint: str) -> bool:
    """28 On-Demand vCPUs in use in prod, unless a point of the last 24 hours (what `kirikae audit
    quotas` reads) says so already; whether it put one."""
    import datetime as dt

    cw = seed.client("cloudwatch", endpoint, PROD)
    now = dt.datetime.now(dt.timezone.utc)
    # EndTime a minute ahead: a point stamped in this very second would fall outside (moto drops
    # EndTime's fraction of a second).
    points = cw.get_metric_statistics(Namespace="AWS/Usage", MetricName="ResourceCount", Statistics=["Maximum"],
                                      Dimensions=VCPU_USAGE, StartTime=now - dt.timedelta(hours=24),
                                      EndTime=now + dt.timedelta(minutes=1), Period=3600)["Datapoints"]
    if any(p["Maximum"] == 28.0 for p in points):
        return False
    cw.put_metric_data(Namespace="AWS/Usage", MetricData=[{
        "MetricName": "ResourceCount", "Value": 28.0, "Unit": "None", "Dimensions": VCPU_USAGE}])
    return True


def seed_quotas(endpoint: str) -> Estate:
    """Applied values and usage as described above."""
    out = Estate()
    arn = lambda account, service, code: f"arn:aws:servicequotas:{REGION}:{account}:{service}/{code}"  # noqa: E731
    out.add("prod-db-clusters-quota", arn(PROD, "rds", "L-952B80B8"),
            _apply_quota(endpoint, PROD, "rds", "L-952B80B8", 80))
    vcpus = _apply_quota(endpoint, PROD, "ec2", "L-1216C47A", 32)
    out.add("prod-vcpu-quota", arn(PROD, "ec2", "L-1216C47A"), _vcpu_usage(endpoint) or vcpus)
    out.add("prod-db-instances-quota", arn(PROD, "rds", "L-7B6409FD"), False)
    dev_clusters = len(seed.client("rds", endpoint, DEV).describe_db_clusters()["DBClusters"])
    out.add("dev-db-clusters-quota", arn(DEV, "rds", "L-952B80B8"),
            _apply_quota(endpoint, DEV, "rds", "L-952B80B8", max(dev_clusters, 1)))
    return out


def seed_runtimes(endpoint: str) -> Estate:
    """Creates what of the estate above is missing (a second seed on the same emulator creates
    nothing); returns every {name: ARN or id} and what was created."""
    out = _functions(endpoint, PROD, "prod", {"orders-legacy": "python3.8", "orders-api": "python3.13"})
    out.update(_functions(endpoint, DEV, "dev", {"orders-legacy-dev": "python3.8"}))

    rds = seed.client("rds", endpoint, PROD)
    _db(rds, out, "reports-legacy", "mysql", "5.7.44", "db.r6g.large", True, "prod")
    _db(rds, out, "billing-current", "mysql", "8.4.5", "db.t4g.medium", True, "prod")
    _db(seed.client("rds", endpoint, DEV), out, "reports-dev-pg", "postgres", "13.20", "db.t4g.medium", False, "dev")

    ec = seed.client("elasticache", endpoint, PROD)
    caches = {c["CacheClusterId"]: c["ARN"] for c in ec.describe_cache_clusters()["CacheClusters"]}
    for name, version in [("sessions-legacy", "5.0.6"), ("sessions-current", "7.1")]:
        if name in caches:
            out.add(name, caches[name], False)
            continue
        c = ec.create_cache_cluster(CacheClusterId=name, Engine="redis", EngineVersion=version,
                                    CacheNodeType="cache.t4g.micro", NumCacheNodes=1, Tags=_tags("prod"))
        out.add(name, c["CacheCluster"]["ARN"], True)

    ec2 = seed.client("ec2", endpoint, PROD)
    _instance(ec2, out, "amzn2-ami-hvm-2.0.", "batch-al2", "prod")
    _instance(ec2, out, "al2023-ami-2023.", "batch-al2023", "prod")
    out.update(_load_balancers(endpoint))
    out.update(_eks_clusters(endpoint))
    out.update(seed_quotas(endpoint))
    return out


def main(args) -> int:
    from urllib.parse import urlparse

    from .server import LOOPBACK_HOSTS

    if (urlparse(args.endpoint).hostname or "") not in LOOPBACK_HOSTS:
        print(f"seed: refusing endpoint {args.endpoint}: only a local emulator on loopback is seeded", file=sys.stderr)
        return 2
    try:
        estate = seed_runtimes(args.endpoint.rstrip("/"))
    except ClientError as e:
        print(f"seed audit: the emulator refused a call (run `seed story` first?): {e}", file=sys.stderr)
        return 1
    if args.quiet:
        print(json.dumps(estate.ids))
        return 0
    if estate.created:
        print(f"Seeded the audit estate in prod ({PROD}) and dev ({DEV}), {REGION} "
              f"({len(estate.created)} created, the rest already there):")
    else:
        print(f"The audit estate in prod ({PROD}) and dev ({DEV}), {REGION}, is already seeded: nothing changed.")
    for name, ident in estate.ids.items():
        state = "created" if name in estate.created else "already there"
        print(f"  {name:<24} {state:<14} {ident}")
    return 0
