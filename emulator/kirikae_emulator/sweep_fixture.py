"""`python -m kirikae_emulator seed leftovers --endpoint URL [--count N]`: the story's leftovers.

In the story, 191 resources of many services were left in the production account after the split.
This builds them in the prod account (111111111111, ap-northeast-1) of a running emulator, each
tagged `owner=old-monolith` (how a person would have found them), next to resources that are
*not* leftovers (tagged `app=shop`) which a sweep must never touch:

- one old VPC with 4 subnets, 2 custom route tables (associated with subnets, one routing to the
  NAT gateway, one to the internet gateway), an internet gateway, a NAT gateway with its Elastic
  IP, 4 security groups (one referring to another), 6 instances (3 stopped) with key pairs, an
  application load balancer with 3 target groups (one with the instances registered and a
  listener), 6 detached network interfaces and one more Elastic IP; 2 launch templates, 2 AMIs
  made from old instances, 2 IAM roles with policies and instance profiles; an old Aurora MySQL
  cluster (2 instances, a cluster parameter group, a manual cluster snapshot) and a MySQL DB
  instance (a DB parameter group, a manual DB snapshot), both in a DB subnet group over the old
  subnets; 2 Secrets Manager secrets (the old databases' passwords) and a customer managed KMS key;
  an Auto Scaling group over two old subnets launching one instance from the first launch
  template; 2 Lambda functions run by the old roles (one in the old subnets and a security
  group); a Memcached ElastiCache cluster in a cache subnet group over the old subnets (the
  subnet group is not a type the sweep knows, so it is not tagged);
- the rest spread over EBS volumes (unattached), EBS snapshots (a third of them orphans: their
  volume is gone), key pairs, S3 buckets with objects (half versioned, with old versions),
  SQS queues, SNS topics, CloudWatch log groups, DynamoDB tables, CloudWatch metric alarms and
  ECR repositories (half with an image).

Not leftovers, next to them: the shop's VPC, instance, bucket, queue, topic, log group, volume,
secret and KMS key, an ECR repository with an image and a CloudWatch alarm.

Also sets the prod account's IAM alias (`shop-prod`), which `kirikae sweep apply --confirm`
checks. Run `seed story` first (it creates the accounts' roles); this seeds only resources.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from botocore.exceptions import ClientError

from .seed import PROD, REGION, client

LEFTOVER_TAG = ("owner", "old-monolith")
KEEP_TAG = ("app", "shop")
STORY_COUNT = 191
# The VPC family and everything fixed in size: vpc 1, subnets 4, route tables 2, igw 1, nat 1,
# eips 2, sgs 4, instances 6, lb 1, target groups 3, enis 6, launch templates 2, AMIs 2 (made
# from an old instance, each with its snapshot), IAM roles 2 (a managed and an inline policy, an
# instance profile), RDS 9 (a DB subnet group in the old subnets, a DB and a cluster parameter
# group, an Aurora MySQL cluster with 2 instances and a manual cluster snapshot, a MySQL DB
# instance outside any cluster with a manual DB snapshot), secrets 2, KMS keys 1, an Auto Scaling
# group 1 and the instance it launches 1, Lambda functions 2, an ElastiCache cluster 1.
FIXED = 54
# The rest, in these proportions (137 of them for the story's 191).
SPREAD = [("volume", 18), ("snapshot", 27), ("key-pair", 8), ("bucket", 8), ("queue", 22),
          ("topic", 14), ("log-group", 18), ("table", 8), ("alarm", 10), ("repository", 8)]
# A container image manifest small enough for ECR (PutImage) to take.
IMAGE_MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
               "digest": "sha256:" + "b" * 64},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                "digest": "sha256:" + "c" * 64}]})


def plan_counts(count: int) -> dict[str, int]:
    """How many of each spread type make `count` leftovers in all (FIXED + the spread)."""
    if count < FIXED + len(SPREAD):
        raise ValueError(f"--count must be at least {FIXED + len(SPREAD)}")
    rest = count - FIXED
    total_weight = sum(w for _, w in SPREAD)
    counts = {name: max(1, rest * w // total_weight) for name, w in SPREAD}
    counts["log-group"] += rest - sum(counts.values())
    return counts


def _zip(source: str) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("report.py", source)
    return buf.getvalue()


def _tags(name: str, leftover: bool = True) -> list[dict]:
    key, value = LEFTOVER_TAG if leftover else KEEP_TAG
    return [{"Key": key, "Value": value}, {"Key": "Name", "Value": name}]


def _spec(resource_type: str, name: str, leftover: bool = True) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": _tags(name, leftover)}]


def seed_leftovers(endpoint: str, count: int = STORY_COUNT, prefix: str = "old") -> dict:
    counts = plan_counts(count)
    made: Counter = Counter()
    ec2 = client("ec2", endpoint, PROD)
    elbv2 = client("elbv2", endpoint, PROD)
    s3 = client("s3", endpoint, PROD)
    sqs = client("sqs", endpoint, PROD)
    sns = client("sns", endpoint, PROD)
    logs = client("logs", endpoint, PROD)
    ddb = client("dynamodb", endpoint, PROD)
    iam = client("iam", endpoint, PROD)
    rds = client("rds", endpoint, PROD)
    sm = client("secretsmanager", endpoint, PROD)
    kms = client("kms", endpoint, PROD)
    autoscaling = client("autoscaling", endpoint, PROD)
    lambda_ = client("lambda", endpoint, PROD)
    elasticache = client("elasticache", endpoint, PROD)
    cloudwatch = client("cloudwatch", endpoint, PROD)
    ecr = client("ecr", endpoint, PROD)

    try:
        iam.create_account_alias(AccountAlias="shop-prod")
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
            raise
    ami = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]

    # --- what is not a leftover: the serving shop (never touched by a sweep) -----------------
    keep = {}
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_spec("vpc", "shop-vpc", False))["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{REGION}a",
                            TagSpecifications=_spec("subnet", "shop-app-a", False))["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="shop-app", Description="shop app", VpcId=vpc,
                                   TagSpecifications=_spec("security-group", "shop-app", False))["GroupId"]
    inst = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=sub,
                             SecurityGroupIds=[sg], TagSpecifications=_spec("instance", "shop-app-1", False))
    keep["instance"] = inst["Instances"][0]["InstanceId"]
    keep["vpc"], keep["subnet"], keep["security_group"] = vpc, sub, sg
    s3.create_bucket(Bucket=f"{prefix}-shop-assets", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=f"{prefix}-shop-assets", Tagging={"TagSet": _tags("shop-assets", False)})
    s3.put_object(Bucket=f"{prefix}-shop-assets", Key="logo.png", Body=b"png")
    keep["bucket"] = f"{prefix}-shop-assets"
    keep["queue"] = sqs.create_queue(QueueName=f"{prefix}-shop-orders", tags=dict([KEEP_TAG]))["QueueUrl"]
    keep["topic"] = sns.create_topic(Name=f"{prefix}-shop-alerts", Tags=_tags("shop-alerts", False))["TopicArn"]
    logs.create_log_group(logGroupName=f"/shop/{prefix}/app", tags=dict([KEEP_TAG]))
    keep["log_group"] = f"/shop/{prefix}/app"
    vol = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, TagSpecifications=_spec("volume", "shop-spare", False))
    keep["volume"] = vol["VolumeId"]
    repo = ecr.create_repository(repositoryName=f"shop/{prefix}/web", tags=_tags("shop-web", False))
    ecr.put_image(repositoryName=f"shop/{prefix}/web", imageManifest=IMAGE_MANIFEST, imageTag="live")
    keep["repository"] = repo["repository"]["repositoryName"]
    cloudwatch.put_metric_alarm(AlarmName=f"shop-{prefix}-5xx", Namespace="AWS/ApplicationELB",
                                MetricName="HTTPCode_ELB_5XX_Count", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold",
                                Tags=_tags("shop-5xx", False))
    keep["alarm"] = f"shop-{prefix}-5xx"

    # --- the old VPC family -----------------------------------------------------------------
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=_spec("vpc", f"{prefix}-vpc"))["Vpc"]["VpcId"]
    made["vpc"] += 1
    subnets = []
    for i, az in enumerate("acac"):
        s = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{az}",
                              TagSpecifications=_spec("subnet", f"{prefix}-subnet-{i}"))["Subnet"]["SubnetId"]
        subnets.append(s)
        made["subnet"] += 1
    igw = ec2.create_internet_gateway(TagSpecifications=_spec("internet-gateway", f"{prefix}-igw"))
    igw = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    made["internet-gateway"] += 1
    eip_nat = ec2.allocate_address(Domain="vpc", TagSpecifications=_spec("elastic-ip", f"{prefix}-nat-eip"))
    ec2.allocate_address(Domain="vpc", TagSpecifications=_spec("elastic-ip", f"{prefix}-spare-eip"))
    made["elastic-ip"] += 2
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip_nat["AllocationId"],
                                 TagSpecifications=_spec("natgateway", f"{prefix}-nat"))["NatGateway"]["NatGatewayId"]
    made["nat-gateway"] += 1
    rt_public = ec2.create_route_table(VpcId=vpc, TagSpecifications=_spec("route-table", f"{prefix}-public"))
    rt_public = rt_public["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    rt_private = ec2.create_route_table(VpcId=vpc, TagSpecifications=_spec("route-table", f"{prefix}-private"))
    rt_private = rt_private["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    for i, s in enumerate(subnets):
        ec2.associate_route_table(RouteTableId=rt_public if i < 2 else rt_private, SubnetId=s)
    made["route-table"] += 2
    sgs = []
    for name in ("lb", "web", "batch", "admin"):
        sgs.append(ec2.create_security_group(GroupName=f"{prefix}-{name}", Description=f"old {name}", VpcId=vpc,
                                             TagSpecifications=_spec("security-group", f"{prefix}-{name}"))["GroupId"])
        made["security-group"] += 1
    # web accepts traffic from the load balancer's group: web must go before lb.
    ec2.authorize_security_group_ingress(GroupId=sgs[1], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": sgs[0]}]}])
    key_names = []
    for i in range(counts["key-pair"]):
        k = f"{prefix}-key-{i}"
        ec2.create_key_pair(KeyName=k, TagSpecifications=_spec("key-pair", k))
        key_names.append(k)
        made["key-pair"] += 1
    instances = []
    for i in range(6):
        r = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.small",
                              SubnetId=subnets[i % 4], SecurityGroupIds=[sgs[1 + i % 3]], KeyName=key_names[0],
                              TagSpecifications=_spec("instance", f"{prefix}-app-{i}"))
        instances.append(r["Instances"][0]["InstanceId"])
        made["instance"] += 1
    ec2.stop_instances(InstanceIds=instances[3:])
    for i in range(6):
        ec2.create_network_interface(SubnetId=subnets[i % 4], Groups=[sgs[3]], Description=f"{prefix} detached {i}",
                                     TagSpecifications=_spec("network-interface", f"{prefix}-eni-{i}"))
        made["network-interface"] += 1
    lb = elbv2.create_load_balancer(Name=f"{prefix}-alb", Subnets=subnets[:2], SecurityGroups=[sgs[0]],
                                    Tags=_tags(f"{prefix}-alb"))["LoadBalancers"][0]["LoadBalancerArn"]
    made["load-balancer"] += 1
    tgs = []
    for i in range(3):
        tg = elbv2.create_target_group(Name=f"{prefix}-tg-{i}", Protocol="HTTP", Port=80, VpcId=vpc,
                                       TargetType="instance", Tags=_tags(f"{prefix}-tg-{i}"))
        tgs.append(tg["TargetGroups"][0]["TargetGroupArn"])
        made["target-group"] += 1
    elbv2.register_targets(TargetGroupArn=tgs[0], Targets=[{"Id": i} for i in instances[:3]])
    elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs[0]}])

    templates = []
    for i in range(2):
        lt = ec2.create_launch_template(LaunchTemplateName=f"{prefix}-web-{i}",
                                        LaunchTemplateData={"InstanceType": "t3.small", "ImageId": ami},
                                        TagSpecifications=_spec("launch-template", f"{prefix}-web-{i}"))
        templates.append(lt["LaunchTemplate"]["LaunchTemplateId"])
        made["launch-template"] += 1
        ec2.create_image(InstanceId=instances[i], Name=f"{prefix}-golden-{i}",
                         TagSpecifications=_spec("image", f"{prefix}-golden-{i}"))
        made["image"] += 1
        role = f"{prefix}-batch-{i}"
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}), Tags=_tags(role))
        iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        iam.put_role_policy(RoleName=role, PolicyName="reports", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
        iam.create_instance_profile(InstanceProfileName=role)
        iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
        made["iam-role"] += 1

    # The group launches its instance at once, tagged as the group is (and with the group's name).
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=f"{prefix}-web", MinSize=1, MaxSize=1, DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": templates[0], "Version": "$Latest"},
        VPCZoneIdentifier=",".join(subnets[:2]),
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in (LEFTOVER_TAG, ("Name", f"{prefix}-web"))])
    made["autoscaling-group"] += 1
    made["instance"] += 1
    for i in range(2):
        role_arn = iam.get_role(RoleName=f"{prefix}-batch-{i}")["Role"]["Arn"]
        vpc_config = {"SubnetIds": subnets[2:], "SecurityGroupIds": [sgs[2]]} if i == 0 else {}
        lambda_.create_function(FunctionName=f"{prefix}-report-{i}", Runtime="python3.12", Role=role_arn,
                                Handler="report.handler", Code={"ZipFile": _zip("def handler(e, c):\n    return 0\n")},
                                VpcConfig=vpc_config, Tags=dict([LEFTOVER_TAG, ("Name", f"{prefix}-report-{i}")]))
        made["lambda-function"] += 1
    elasticache.create_cache_subnet_group(CacheSubnetGroupName=f"{prefix}-cache-subnets",
                                          CacheSubnetGroupDescription="old sessions", SubnetIds=subnets[2:])
    elasticache.create_cache_cluster(CacheClusterId=f"{prefix}-sessions", Engine="memcached",
                                     CacheNodeType="cache.t3.micro", NumCacheNodes=1,
                                     CacheSubnetGroupName=f"{prefix}-cache-subnets", SecurityGroupIds=[sgs[2]],
                                     Tags=_tags(f"{prefix}-sessions"))
    made["elasticache-cluster"] += 1

    # RDS: users before what they use (instances -> cluster -> subnet group -> subnets).
    rds.create_db_subnet_group(DBSubnetGroupName=f"{prefix}-db-subnets", DBSubnetGroupDescription="old databases",
                               SubnetIds=subnets[2:], Tags=_tags(f"{prefix}-db-subnets"))
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{prefix}-aurora-mysql8",
                                          DBParameterGroupFamily="aurora-mysql8.0", Description="old",
                                          Tags=_tags(f"{prefix}-aurora-mysql8"))
    rds.create_db_parameter_group(DBParameterGroupName=f"{prefix}-mysql8", DBParameterGroupFamily="mysql8.0",
                                  Description="old", Tags=_tags(f"{prefix}-mysql8"))
    made["db-subnet-group"] += 1
    made["db-parameter-group"] += 2
    cluster = f"{prefix}-orders"
    rds.create_db_cluster(DBClusterIdentifier=cluster, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
                          MasterUsername="admin", MasterUserPassword="old-orders-pw-1", DatabaseName="orders",
                          DBSubnetGroupName=f"{prefix}-db-subnets", VpcSecurityGroupIds=[sgs[2]],
                          DBClusterParameterGroupName=f"{prefix}-aurora-mysql8", Tags=_tags(cluster))
    made["db-cluster"] += 1
    for i in range(2):
        rds.create_db_instance(DBInstanceIdentifier=f"{cluster}-{i}", DBClusterIdentifier=cluster,
                               Engine="aurora-mysql", DBInstanceClass="db.t4g.medium", Tags=_tags(f"{cluster}-{i}"))
        made["db-instance"] += 1
    rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster, DBClusterSnapshotIdentifier=f"{cluster}-before-split",
                                   Tags=_tags(f"{cluster}-before-split"))
    rds.create_db_instance(DBInstanceIdentifier=f"{prefix}-reports", Engine="mysql", DBInstanceClass="db.t3.micro",
                           AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="old-reports-pw-1",
                           DBSubnetGroupName=f"{prefix}-db-subnets", VpcSecurityGroupIds=[sgs[2]],
                           DBParameterGroupName=f"{prefix}-mysql8", Tags=_tags(f"{prefix}-reports"))
    rds.create_db_snapshot(DBInstanceIdentifier=f"{prefix}-reports", DBSnapshotIdentifier=f"{prefix}-reports-before-split",
                           Tags=_tags(f"{prefix}-reports-before-split"))
    made["db-instance"] += 1
    made["db-cluster-snapshot"] += 1
    made["db-snapshot"] += 1
    for name, pw in (("orders", "old-orders-pw-1"), ("reports", "old-reports-pw-1")):
        sm.create_secret(Name=f"{prefix}/{name}/master", SecretString=json.dumps({"username": "admin", "password": pw}),
                         Tags=_tags(f"{prefix}-{name}-master"))
        made["secret"] += 1
    kms.create_key(Description=f"{prefix} monolith data key",
                   Tags=[{"TagKey": k, "TagValue": v} for k, v in (LEFTOVER_TAG, ("Name", f"{prefix}-data-key"))])
    made["kms-key"] += 1
    # not leftovers: the shop's own secret and key
    keep["secret"] = sm.create_secret(Name=f"shop/{prefix}/api", SecretString="k", Tags=_tags("shop-api", False))["ARN"]
    keep["kms_key"] = kms.create_key(Description="shop data key", Tags=[{"TagKey": KEEP_TAG[0], "TagValue": KEEP_TAG[1]}])[
        "KeyMetadata"]["KeyId"]

    # --- the spread ---------------------------------------------------------------------------
    orphans = counts["snapshot"] // 3
    for i in range(counts["volume"]):
        ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8 + i % 4,
                          TagSpecifications=_spec("volume", f"{prefix}-data-{i}"))
        made["volume"] += 1
    source = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20, TagSpecifications=_spec("volume", "shop-db-backup-src", False))
    gone = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20)
    for i in range(counts["snapshot"]):
        vol_id = gone["VolumeId"] if i < orphans else source["VolumeId"]
        ec2.create_snapshot(VolumeId=vol_id, Description=f"{prefix} backup {i}",
                            TagSpecifications=_spec("snapshot", f"{prefix}-backup-{i}"))
        made["snapshot"] += 1
    ec2.delete_volume(VolumeId=gone["VolumeId"])
    keep["snapshot_source_volume"] = source["VolumeId"]
    for i in range(counts["bucket"]):
        b = f"{prefix}-monolith-{i}"
        s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": _tags(b)})
        if i % 2 == 0:
            s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
            s3.put_object(Bucket=b, Key="report.csv", Body=b"v1")
        for k in range(3):
            s3.put_object(Bucket=b, Key=f"{'report.csv' if k == 0 else f'data/{k}.bin'}", Body=b"x" * (k + 1))
        made["bucket"] += 1
    for i in range(counts["queue"]):
        sqs.create_queue(QueueName=f"{prefix}-jobs-{i}", tags=dict([LEFTOVER_TAG, ("Name", f"{prefix}-jobs-{i}")]))
        made["queue"] += 1
    for i in range(counts["topic"]):
        sns.create_topic(Name=f"{prefix}-events-{i}", Tags=_tags(f"{prefix}-events-{i}"))
        made["topic"] += 1
    for i in range(counts["log-group"]):
        g = f"/{prefix}/monolith/{i}"
        logs.create_log_group(logGroupName=g, tags=dict([LEFTOVER_TAG, ("Name", g)]))
        if i % 3 == 0:
            logs.create_log_stream(logGroupName=g, logStreamName="web")
            logs.put_log_events(logGroupName=g, logStreamName="web",
                                logEvents=[{"timestamp": 1700000000000, "message": "hello"}])
        made["log-group"] += 1
    for i in range(counts["alarm"]):
        cloudwatch.put_metric_alarm(AlarmName=f"{prefix}-cpu-high-{i}", Namespace="AWS/EC2", MetricName="CPUUtilization",
                                    Dimensions=[{"Name": "AutoScalingGroupName", "Value": f"{prefix}-web"}],
                                    Statistic="Average", Period=300, EvaluationPeriods=2, Threshold=80 + i % 10,
                                    ComparisonOperator="GreaterThanThreshold", Tags=_tags(f"{prefix}-cpu-high-{i}"))
        made["alarm"] += 1
    for i in range(counts["repository"]):
        r = f"{prefix}/service-{i}"
        ecr.create_repository(repositoryName=r, tags=_tags(r))
        if i % 2 == 0:
            ecr.put_image(repositoryName=r, imageManifest=IMAGE_MANIFEST, imageTag="v1")
        made["repository"] += 1
    for i in range(counts["table"]):
        ddb.create_table(TableName=f"{prefix}-sessions-{i}", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], Tags=_tags(f"{prefix}-sessions-{i}"))
        made["table"] += 1
    total = sum(made.values())
    assert total == count, f"made {total} leftovers, meant {count}"
    return {"leftovers": total, "by_type": dict(sorted(made.items())), "tag": "=".join(LEFTOVER_TAG),
            "account": PROD, "region": REGION, "keep": keep}


def main(args) -> int:
    from urllib.parse import urlparse

    from .server import LOOPBACK_HOSTS

    if (urlparse(args.endpoint).hostname or "") not in LOOPBACK_HOSTS:
        print(f"seed: refusing endpoint {args.endpoint}: only a local emulator on loopback is seeded", file=sys.stderr)
        return 2
    try:
        result = seed_leftovers(args.endpoint, args.count)
    except ValueError as e:
        print(f"seed leftovers: {e}", file=sys.stderr)
        return 2
    except ClientError as e:
        print(f"seed leftovers: the emulator refused a call: {e}", file=sys.stderr)
        return 1
    if args.quiet:
        print(result["leftovers"])
        return 0
    print(f"Seeded {result['leftovers']} leftovers tagged {result['tag']} in {result['account']} ({result['region']}):")
    for name, n in result["by_type"].items():
        print(f"  {name:<18} {n}")
    print("Not leftovers (tagged app=shop): " + ", ".join(f"{k} {v}" for k, v in result["keep"].items()))
    return 0
