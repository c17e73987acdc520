"""Builds the audit tests' estate on the emulator, next to the story's world (boto3, as an outsider).

  seed URL  -> creates, in prod (protected) and dev, resources with real findings of `kirikae audit
               az` and `tags` next to resources that are fine; prints {name: id or ARN} as JSON

Every resource is tagged env=<its account's env> and owner=shop unless its point is a tag finding.
prod (ap-northeast-1):
  nat-shared VPC: private subnets in 1a and 1c, ONE NAT gateway in 1a routing both  -> AZ-001 on 1c only
  nat-per-az VPC: a NAT gateway per AZ, each private subnet routed to its own        -> fine
  web-one-az ASG (one subnet) -> AZ-002;  web-two-az ASG (1a + 1c)                  -> fine
  nlb-one-az (one subnet)     -> AZ-003;  alb-two-az (1a + 1c)                      -> fine
  orders-prod Aurora, instances in 1a and 1c -> fine (shop-prod, a writer alone, is AZ-004)
  reports-prod MySQL single-AZ -> AZ-005;  billing-prod Multi-AZ                    -> fine
  sessions-one-az memcached, 1 node -> AZ-006; sessions-two-az, nodes in 1a and 1c  -> fine
  instances: untagged -> TAG-001; env=dev -> TAG-002; Environment=prod -> TAG-003; tagged -> fine
dev:
  reports-dev MySQL single-AZ -> AZ-005 (medium: dev is not protected)
  an instance env=prod        -> TAG-002 (medium)
"""

import json
import sys

from kirikae_emulator import seed

PROD, DEV, REGION = seed.PROD, seed.DEV, seed.REGION
A, C = f"{REGION}a", f"{REGION}c"


def tags(env, **extra):
    t = {"env": env, "owner": "shop", **extra}
    return [{"Key": k, "Value": v} for k, v in t.items()]


def spec(kind, t):
    return [{"ResourceType": kind, "Tags": t}]


def vpc(ec2, cidr, name, env):
    v = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec("vpc", tags(env, Name=name)))["Vpc"]["VpcId"]
    return v


def subnet(ec2, vpc_id, cidr, az, name, env):
    return ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az,
                             TagSpecifications=spec("subnet", tags(env, Name=name)))["Subnet"]["SubnetId"]


def nat(ec2, subnet_id, name, env):
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    return ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=eip,
                                  TagSpecifications=spec("natgateway", tags(env, Name=name)))["NatGateway"]["NatGatewayId"]


def route_private(ec2, vpc_id, nat_id, subnets, name, env):
    rt = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=spec("route-table", tags(env, Name=name)))
    rt = rt["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    for s in subnets:
        ec2.associate_route_table(RouteTableId=rt, SubnetId=s)


def instance(ec2, ami, subnet_id, t):
    kw = {}
    if t:
        kw["TagSpecifications"] = spec("instance", t) + spec("volume", t)
    return ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet_id,
                             **kw)["Instances"][0]["InstanceId"]


def seed_prod(url):
    out = {}
    ec2 = seed.client("ec2", url, PROD)
    env = "prod"
    ami = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]

    # One NAT gateway for the whole VPC, in 1a.
    v = vpc(ec2, "10.30.0.0/16", "nat-shared", env)
    public = subnet(ec2, v, "10.30.0.0/24", A, "nat-shared-public-a", env)
    out["shared_a"] = subnet(ec2, v, "10.30.1.0/24", A, "nat-shared-private-a", env)
    out["shared_c"] = subnet(ec2, v, "10.30.2.0/24", C, "nat-shared-private-c", env)
    out["shared_nat"] = nat(ec2, public, "nat-shared-a", env)
    route_private(ec2, v, out["shared_nat"], [out["shared_a"], out["shared_c"]], "nat-shared-private", env)

    # A NAT gateway per AZ.
    v = vpc(ec2, "10.31.0.0/16", "nat-per-az", env)
    subnets = {}
    for i, az in enumerate([A, C]):
        public = subnet(ec2, v, f"10.31.{i}.0/24", az, f"nat-per-az-public-{az[-1]}", env)
        private = subnet(ec2, v, f"10.31.{10 + i}.0/24", az, f"nat-per-az-private-{az[-1]}", env)
        n = nat(ec2, public, f"nat-per-az-{az[-1]}", env)
        route_private(ec2, v, n, [private], f"nat-per-az-private-{az[-1]}", env)
        subnets[az] = private
    out["per_az_a"], out["per_az_c"] = subnets[A], subnets[C]

    # Auto Scaling groups.
    lt = ec2.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={"InstanceType": "t3.micro", "ImageId": ami})
    lt = lt["LaunchTemplate"]["LaunchTemplateId"]
    asg = seed.client("autoscaling", url, PROD)
    for name, zones in [("web-one-az", [subnets[A]]), ("web-two-az", [subnets[A], subnets[C]])]:
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=0, MaxSize=1, DesiredCapacity=0,
            LaunchTemplate={"LaunchTemplateId": lt, "Version": "$Latest"}, VPCZoneIdentifier=",".join(zones),
            Tags=[{"Key": t["Key"], "Value": t["Value"], "PropagateAtLaunch": True} for t in tags(env)])
        out[name] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["AutoScalingGroupARN"]

    # Load balancers.
    elbv2 = seed.client("elbv2", url, PROD)
    out["nlb-one-az"] = elbv2.create_load_balancer(Name="nlb-one-az", Type="network", Subnets=[subnets[A]],
                                                   Tags=tags(env))["LoadBalancers"][0]["LoadBalancerArn"]
    out["alb-two-az"] = elbv2.create_load_balancer(Name="alb-two-az", Subnets=[subnets[A], subnets[C]],
                                                   Tags=tags(env))["LoadBalancers"][0]["LoadBalancerArn"]

    # Databases.
    rds = seed.client("rds", url, PROD)
    c = rds.create_db_cluster(DBClusterIdentifier="orders-prod", Engine="aurora-mysql",
                              EngineVersion="8.0.mysql_aurora.3.05.2", MasterUsername="admin",
                              MasterUserPassword="orders-prod-emulator-only", Tags=tags(env))
    out["orders-prod"] = c["DBCluster"]["DBClusterArn"]
    for i, az in enumerate([A, C]):
        rds.create_db_instance(DBInstanceIdentifier=f"orders-prod-{i + 1}", DBClusterIdentifier="orders-prod",
                               Engine="aurora-mysql", DBInstanceClass="db.r6g.large", AvailabilityZone=az,
                               Tags=tags(env))
    for name, multi in [("reports-prod", False), ("billing-prod", True)]:
        i = rds.create_db_instance(DBInstanceIdentifier=name, Engine="mysql", DBInstanceClass="db.t3.micro",
                                   AllocatedStorage=20, MasterUsername="admin",
                                   MasterUserPassword="reports-emulator-only", MultiAZ=multi, Tags=tags(env))
        out[name] = i["DBInstance"]["DBInstanceArn"]

    # ElastiCache.
    ec = seed.client("elasticache", url, PROD)
    ec.create_cache_cluster(CacheClusterId="sessions-one-az", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=1, PreferredAvailabilityZone=A, Tags=tags(env))
    ec.create_cache_cluster(CacheClusterId="sessions-two-az", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=2, AZMode="cross-az", PreferredAvailabilityZones=[A, C], Tags=tags(env))

    # Instances for the tag checks.
    out["untagged"] = instance(ec2, ami, subnets[A], None)
    out["tagged-dev"] = instance(ec2, ami, subnets[A], tags("dev"))
    out["environment"] = instance(ec2, ami, subnets[A], [{"Key": "Environment", "Value": "prod"},
                                                         {"Key": "owner", "Value": "shop"}])
    out["tagged-fine"] = instance(ec2, ami, subnets[A], tags(env))
    return out


def seed_dev(url):
    out = {}
    ec2 = seed.client("ec2", url, DEV)
    ami = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    rds = seed.client("rds", url, DEV)
    i = rds.create_db_instance(DBInstanceIdentifier="reports-dev", Engine="mysql", DBInstanceClass="db.t3.micro",
                               AllocatedStorage=20, MasterUsername="admin",
                               MasterUserPassword="reports-emulator-only", Tags=tags("dev"))
    out["reports-dev"] = i["DBInstance"]["DBInstanceArn"]
    v = vpc(ec2, "10.40.0.0/16", "dev-apps", "dev")
    s = subnet(ec2, v, "10.40.1.0/24", A, "dev-apps-a", "dev")
    out["dev-tagged-prod"] = instance(ec2, ami, s, tags("prod"))
    return out


def main(argv):
    if len(argv) != 3 or argv[1] != "seed":
        print(__doc__, file=sys.stderr)
        return 2
    url = argv[2]
    out = {**seed_prod(url), **seed_dev(url)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
