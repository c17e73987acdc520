"""The audit benchmark's estate (bench/audit/run): in each of prod and dev of the story, in each
of two regions, a mix of what `kirikae audit all` reads, some tagged env/owner and some not.

Per account and region (SCALE = 1):
  VPCs 4, each with 2 public and 2 private subnets, a route table per subnet, one NAT gateway
  (so the private subnet of the other AZ routes across AZs)                 4 + 16 + 16 + 4 = 40
  EC2 instances 260 over two AMIs (Amazon Linux 2 and 2023)                                 260
  RDS instances 24 (MySQL 5.7 / 8.0 / 8.4, PostgreSQL 13 / 16; some Multi-AZ)                24
  Aurora MySQL clusters 3, two instances each (one cluster with both in one AZ)    3 + 6 = 9
  Lambda functions 100 over five runtimes                                                   100
  Auto Scaling groups 20 (launch template, one or two AZs)                           20 + 1 = 21
  Application load balancers 10, a target group each with 4 registered instances    10 + 10 = 20
  ElastiCache Redis clusters 30 (5.0.6, 6.2, 7.1)                                            30
  EKS clusters 4 (1.29, 1.31, 1.35, 1.36)                                                     4
  -> 508 per place, 2,032 over 4 places, plus the instances' volumes (`tags` lists them too).

Every third resource is untagged; the others carry env = the account's env and owner = shop.
Prints {"resources": N, "places": [...]} as JSON.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

import boto3
from botocore.config import Config

from kirikae_emulator import seed

ACCOUNTS = {seed.PROD: "prod", seed.DEV: "dev"}
REGIONS = ["ap-northeast-1", "us-east-1"]
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": s}, "Action": "sts:AssumeRole"}
    for s in ("lambda.amazonaws.com", "eks.amazonaws.com")]})


def client(service: str, endpoint: str, account: str, region: str):
    c = boto3.client(service, region_name=region, endpoint_url=endpoint, aws_access_key_id=seed.BOOTSTRAP_KEY,
                     aws_secret_access_key="kirikae-bootstrap-secret-not-a-real-key0",
                     config=Config(retries={"total_max_attempts": 5, "mode": "standard"}))
    c.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    return c


class Place:
    def __init__(self, endpoint: str, account: str, region: str):
        self.endpoint, self.account, self.region, self.env = endpoint, account, region, ACCOUNTS[account]
        self.count = 0
        self.n = 0

    def c(self, service: str):
        return client(service, self.endpoint, self.account, self.region)

    def tags(self) -> list[dict]:
        """The next resource's tags: every third one has none."""
        self.n += 1
        return [] if self.n % 3 == 0 else [{"Key": "env", "Value": self.env}, {"Key": "owner", "Value": "shop"}]

    def made(self, n: int = 1) -> None:
        self.count += n


def _spec(kind: str, tags: list[dict], name: str | None = None) -> list[dict]:
    tags = tags + ([{"Key": "Name", "Value": name}] if name else [])
    return [{"ResourceType": kind, "Tags": tags}] if tags else []


def network(p: Place) -> list[tuple[str, list[str]]]:
    """4 VPCs over two AZs; returns [(vpc, [subnets])]."""
    ec2 = p.c("ec2")
    zones = [f"{p.region}a", f"{p.region}b" if p.region == "us-east-1" else f"{p.region}c"]
    out = []
    for v in range(4):
        vpc = ec2.create_vpc(CidrBlock=f"10.{v}.0.0/16", TagSpecifications=_spec("vpc", p.tags(), f"bench-{v}"))["Vpc"]["VpcId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        p.made()
        subnets, nat = [], None
        for i, (role, az) in enumerate([("public", zones[0]), ("public", zones[1]), ("private", zones[0]), ("private", zones[1])]):
            s = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{v}.{i}.0/24", AvailabilityZone=az,
                                  TagSpecifications=_spec("subnet", p.tags(), f"bench-{v}-{role}-{az[-1]}"))["Subnet"]["SubnetId"]
            subnets.append(s)
            rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=_spec("route-table", p.tags()))["RouteTable"]["RouteTableId"]
            ec2.associate_route_table(RouteTableId=rt, SubnetId=s)
            if role == "public":
                ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
                if nat is None:
                    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
                    nat = ec2.create_nat_gateway(SubnetId=s, AllocationId=eip,
                                                 TagSpecifications=_spec("natgateway", p.tags()))["NatGateway"]["NatGatewayId"]
                    p.made()
            else:
                ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
            p.made(2)
        out.append((vpc, subnets))
    return out


def instances(p: Place, subnets: list[str]) -> list[str]:
    ec2 = p.c("ec2")
    images = []
    for prefix in ("amzn2-ami-hvm-2.0.", "al2023-ami-2023."):
        found = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [f"{prefix}*"]}])["Images"]
        if found:
            images.append(sorted(found, key=lambda i: i["Name"])[0]["ImageId"])
    if not images:
        images = [ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]]
    ids = []
    # 26 launches of 10: alternating AMIs and subnets; tags per launch.
    for batch in range(26):
        out = ec2.run_instances(ImageId=images[batch % len(images)], InstanceType="t3.micro", MinCount=10, MaxCount=10,
                                SubnetId=subnets[batch % len(subnets)], TagSpecifications=_spec("instance", p.tags()))
        ids += [i["InstanceId"] for i in out["Instances"]]
    p.made(len(ids))
    return ids


def databases(p: Place) -> None:
    rds = p.c("rds")
    versions = [("mysql", "5.7.44"), ("mysql", "8.0.40"), ("mysql", "8.4.5"), ("postgres", "13.20"), ("postgres", "16.6")]
    for i in range(24):
        engine, version = versions[i % len(versions)]
        rds.create_db_instance(DBInstanceIdentifier=f"bench-db-{i}", Engine=engine, EngineVersion=version,
                               DBInstanceClass="db.t4g.medium", AllocatedStorage=20, MasterUsername="benchadmin",
                               MasterUserPassword="bench-emulator-only", MultiAZ=i % 2 == 0, Tags=p.tags())
    p.made(24)
    zones = [f"{p.region}a", f"{p.region}b" if p.region == "us-east-1" else f"{p.region}c"]
    for c in range(3):
        rds.create_db_cluster(DBClusterIdentifier=f"bench-aurora-{c}", Engine="aurora-mysql",
                              EngineVersion="8.0.mysql_aurora.3.05.2", MasterUsername="benchadmin",
                              MasterUserPassword="bench-emulator-only", Tags=p.tags())
        for i in range(2):
            rds.create_db_instance(DBInstanceIdentifier=f"bench-aurora-{c}-{i}", DBClusterIdentifier=f"bench-aurora-{c}",
                                   Engine="aurora-mysql", DBInstanceClass="db.r6g.large",
                                   AvailabilityZone=zones[0 if c == 0 else i], Tags=p.tags())
        p.made(3)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buf.getvalue()


def functions(p: Place) -> None:
    role = p.c("iam").create_role(RoleName=f"bench-{p.region}", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    fn = p.c("lambda")
    code = _zip()
    runtimes = ["python3.8", "python3.9", "python3.12", "python3.13", "nodejs18.x"]
    for i in range(100):
        tags = {t["Key"]: t["Value"] for t in p.tags()}
        fn.create_function(FunctionName=f"bench-fn-{i}", Runtime=runtimes[i % len(runtimes)], Role=role,
                           Handler="handler.handler", Code={"ZipFile": code}, Tags=tags)
    p.made(100)
    return role


def groups_and_balancers(p: Place, vpc: str, subnets: list[str], targets: list[str]) -> None:
    ec2, asg, elb = p.c("ec2"), p.c("autoscaling"), p.c("elbv2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    lt = ec2.create_launch_template(LaunchTemplateName="bench", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"})
    p.made()
    lt_id = lt["LaunchTemplate"]["LaunchTemplateId"]
    for g in range(20):
        zones = subnets[:1] if g % 4 == 0 else subnets[:2]
        asg.create_auto_scaling_group(AutoScalingGroupName=f"bench-asg-{g}", MinSize=0, MaxSize=2, DesiredCapacity=0,
                                      LaunchTemplate={"LaunchTemplateId": lt_id}, VPCZoneIdentifier=",".join(zones),
                                      Tags=[dict(t, PropagateAtLaunch=True) for t in p.tags()])
    p.made(20)
    for b in range(10):
        tags = p.tags()
        lb = elb.create_load_balancer(Name=f"bench-lb-{b}", Subnets=subnets[:2], **({"Tags": tags} if tags else {}))
        lb = lb["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elb.create_target_group(Name=f"bench-tg-{b}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance",
                                     **({"Tags": tags} if tags else {}))["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": t, "Port": 80} for t in targets[b * 4:(b + 1) * 4]])
        p.made(2)


def caches(p: Place) -> None:
    ec = p.c("elasticache")
    versions = ["5.0.6", "6.2", "7.1"]
    for i in range(30):
        ec.create_cache_cluster(CacheClusterId=f"bench-cache-{i}", Engine="redis", EngineVersion=versions[i % 3],
                                CacheNodeType="cache.t4g.micro", NumCacheNodes=1, Tags=p.tags())
    p.made(30)


def clusters(p: Place, role: str, subnets: list[str]) -> None:
    eks = p.c("eks")
    for i, version in enumerate(["1.29", "1.31", "1.35", "1.36"]):
        tags = {t["Key"]: t["Value"] for t in p.tags()}
        eks.create_cluster(name=f"bench-eks-{i}", version=version, roleArn=role,
                           resourcesVpcConfig={"subnetIds": subnets[2:4]}, tags=tags)
    p.made(4)


def seed_place(endpoint: str, account: str, region: str) -> int:
    p = Place(endpoint, account, region)
    nets = network(p)
    vpc, subnets = nets[0]
    ids = instances(p, [s for _, ss in nets for s in ss[2:]])
    databases(p)
    role = functions(p)
    groups_and_balancers(p, vpc, subnets, ids)
    caches(p)
    clusters(p, role, subnets)
    return p.count


def main(endpoint: str) -> int:
    places, total = [], 0
    for account in ACCOUNTS:
        for region in REGIONS:
            n = seed_place(endpoint, account, region)
            places.append({"account": ACCOUNTS[account], "region": region, "resources": n})
            total += n
    print(json.dumps({"resources": total, "places": places}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
