"""The emulator's additions for `kirikae sweep`: the call counter, EC2 deletions refused while
something depends on the resource (as on AWS), and the story's leftovers fixture."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from kirikae_emulator import sweep_fixture

PROD = "111111111111"


def calls(endpoint):
    r = requests.get(f"{endpoint}/_kirikae/calls", timeout=10)
    r.raise_for_status()
    return r.json()


def code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def cbor_call(endpoint, operation, params):
    """One CloudWatch call in the Smithy RPC v2 CBOR protocol, as the Rust SDK sends it (boto3
    falls back to the query protocol) -> (status, headers, decoded body)."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.parsers import RpcV2CBORParser
    from botocore.serialize import RpcV2CBORSerializer

    op = botocore.session.get_session().get_service_model("cloudwatch").operation_model(operation)
    req = RpcV2CBORSerializer().serialize_to_request(params, op)
    aws = AWSRequest(method="POST", url=endpoint + req["url_path"], data=req["body"],
                     headers={**req["headers"], "x-moto-account-id": PROD, "x-amzn-query-mode": "true"})
    SigV4Auth(Credentials("AKIAIOSFODNN7EXAMPLE", "x" * 40), "monitoring", "ap-northeast-1").add_auth(aws)
    r = requests.post(aws.url, data=aws.body, headers=dict(aws.headers), timeout=30)
    parser = RpcV2CBORParser()
    body = parser.parse_data_item(parser.get_peekable_stream_from_bytes(r.content)) if r.content else {}
    return r.status_code, r.headers, body


def test_calls_are_counted_per_service_and_operation_with_error_codes(endpoint, client_factory):
    requests.delete(f"{endpoint}/_kirikae/calls", timeout=10).raise_for_status()
    ec2 = client_factory("ec2", account=PROD, max_attempts=1)
    s3 = client_factory("s3", account=PROD, max_attempts=1)
    ec2.describe_vpcs()
    ec2.describe_vpcs()
    with pytest.raises(ClientError):
        ec2.delete_vpc(VpcId="vpc-00000000")
    s3.create_bucket(Bucket="counted", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.list_object_versions(Bucket="counted")
    got = calls(endpoint)
    assert got["calls"]["ec2 DescribeVpcs"] == 2
    assert got["calls"]["ec2 DeleteVpc"] == 1
    assert got["calls"]["s3 PUT /bucket"] == 1
    assert got["calls"]["s3 GET /bucket?versions"] == 1
    assert list(got["errors"]) == ["ec2 DeleteVpc InvalidVpcID.NotFound"]
    assert got["total"] == 5
    # Smithy RPC v2 CBOR (CloudWatch from the Rust SDK): the operation is the path's last part
    assert cbor_call(endpoint, "DescribeAlarms", {})[0] == 200
    assert calls(endpoint)["calls"]["monitoring DescribeAlarms"] == 1
    # throttled answers (fault injection) are calls too
    requests.post(f"{endpoint}/_kirikae/faults", json={"service": "ec2", "operation": "DescribeVpcs",
                                                      "error": "Throttling"}, timeout=10).raise_for_status()
    with pytest.raises(ClientError):
        ec2.describe_vpcs()
    assert calls(endpoint)["errors"]["ec2 DescribeVpcs Throttling"] == 1
    requests.delete(f"{endpoint}/_kirikae/calls", timeout=10).raise_for_status()
    assert calls(endpoint)["total"] == 0


def test_ec2_refuses_deletions_while_something_depends_on_them(endpoint, client_factory):
    ec2 = client_factory("ec2", account=PROD, max_attempts=1)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    lb_sg = ec2.create_security_group(GroupName="lb", Description="lb", VpcId=vpc)["GroupId"]
    web_sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=web_sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": lb_sg}]}])
    eni = ec2.create_network_interface(SubnetId=subnet, Groups=[web_sg])["NetworkInterface"]["NetworkInterfaceId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc)["NatGateway"]["NatGatewayId"]
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=rt, SubnetId=subnet)

    # the NAT gateway's interface looks like AWS's
    nat_eni = [n for n in ec2.describe_network_interfaces()["NetworkInterfaces"]
               if n["Description"] == f"Interface for NAT Gateway {nat}"]
    assert len(nat_eni) == 1 and nat_eni[0]["RequesterManaged"] is True
    assert nat_eni[0]["InterfaceType"] == "nat_gateway"

    for call in (
        lambda: ec2.delete_security_group(GroupId=lb_sg),  # web's rule refers to it
        lambda: ec2.delete_security_group(GroupId=web_sg),  # the interface carries it
        lambda: ec2.delete_subnet(SubnetId=subnet),  # interfaces in it
        lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc),  # the NAT's address
        lambda: ec2.delete_vpc(VpcId=vpc),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e.value) == "DependencyViolation"

    # In the right order everything goes, with no DependencyViolation.
    ec2.delete_nat_gateway(NatGatewayId=nat)
    assert not ec2.describe_addresses(AllocationIds=[alloc])["Addresses"][0].get("AssociationId")
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.release_address(AllocationId=alloc)
    ec2.delete_security_group(GroupId=web_sg)
    ec2.delete_security_group(GroupId=lb_sg)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_route_table(RouteTableId=rt)  # its association went with the subnet
    ec2.delete_vpc(VpcId=vpc)


def test_a_terminated_instance_leaves_no_interface_behind(endpoint, client_factory):
    ec2 = client_factory("ec2", account=PROD, max_attempts=1)
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    ami = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    i = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError):
        ec2.delete_subnet(SubnetId=subnet)
    ec2.terminate_instances(InstanceIds=[i])
    ec2.delete_subnet(SubnetId=subnet)


def test_the_story_leftovers(endpoint, client_factory):
    result = sweep_fixture.seed_leftovers(endpoint)
    assert result["leftovers"] == 191
    assert len(result["by_type"]) >= 12
    by_type = result["by_type"]
    assert (by_type["db-cluster"], by_type["db-instance"], by_type["db-cluster-snapshot"], by_type["db-snapshot"],
            by_type["db-subnet-group"], by_type["db-parameter-group"]) == (1, 3, 1, 1, 1, 2)
    rds = client_factory("rds", account=PROD)
    old = rds.describe_db_clusters(DBClusterIdentifier="old-orders")["DBClusters"][0]
    assert sorted(m["DBInstanceIdentifier"] for m in old["DBClusterMembers"]) == ["old-orders-0", "old-orders-1"]
    assert old["DBSubnetGroup"] == "old-db-subnets"
    assert (by_type["secret"], by_type["kms-key"]) == (2, 1)
    tagging = client_factory("resourcegroupstaggingapi", account=PROD)
    keep = [m["ResourceARN"] for page in tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": "app", "Values": ["shop"]}]) for m in page["ResourceTagMappingList"]]
    assert len(keep) >= 5  # resources that are not leftovers, next to them
    iam = client_factory("iam", account=PROD)
    assert iam.list_account_aliases()["AccountAliases"] == ["shop-prod"]
    assert (by_type["autoscaling-group"], by_type["lambda-function"], by_type["elasticache-cluster"]) == (1, 2, 1)
    assert by_type["alarm"] >= 1 and by_type["repository"] >= 1
    # The group's instance is a leftover too: it carries the group's tags and name.
    ec2 = client_factory("ec2", account=PROD)
    launched = [i for r in ec2.describe_instances(Filters=[
        {"Name": "tag:aws:autoscaling:groupName", "Values": ["old-web"]}])["Reservations"] for i in r["Instances"]]
    assert len(launched) == 1
    assert {"Key": "owner", "Value": "old-monolith"} in launched[0]["Tags"]
    fn = client_factory("lambda", account=PROD).get_function(FunctionName="old-report-0")["Configuration"]
    assert fn["Role"].endswith(":role/old-batch-0") and fn["VpcConfig"]["SubnetIds"]
    with pytest.raises(ValueError):
        sweep_fixture.plan_counts(10)
    assert sum(sweep_fixture.plan_counts(2000).values()) + sweep_fixture.FIXED == 2000


def test_launch_templates_show_tags_added_later(endpoint, client_factory):
    ec2 = client_factory("ec2", account=PROD, max_attempts=1)
    lt = ec2.create_launch_template(LaunchTemplateName="old-lt", LaunchTemplateData={"InstanceType": "t3.micro"},
                                    TagSpecifications=[{"ResourceType": "launch-template",
                                                        "Tags": [{"Key": "owner", "Value": "old"}]}])
    lt_id = lt["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_tags(Resources=[lt_id], Tags=[{"Key": "kirikae:sweep", "Value": "plan-1"}])
    tags = ec2.describe_launch_templates(LaunchTemplateIds=[lt_id])["LaunchTemplates"][0]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"owner": "old", "kirikae:sweep": "plan-1"}


def test_a_deleted_cache_cluster_is_deleting_once_then_gone(endpoint, client_factory):
    ec = client_factory("elasticache", account=PROD, max_attempts=1)
    ec.create_cache_cluster(CacheClusterId="old-cache", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=1, Tags=[{"Key": "owner", "Value": "old"}])
    ec.create_cache_cluster(CacheClusterId="shop-cache", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=1, SecurityGroupIds=["sg-12345678"])
    [shop] = ec.describe_cache_clusters(CacheClusterId="shop-cache")["CacheClusters"]
    assert [g["SecurityGroupId"] for g in shop["SecurityGroups"]] == ["sg-12345678"]
    ec.delete_cache_cluster(CacheClusterId="old-cache")
    with pytest.raises(ClientError) as e:
        ec.delete_cache_cluster(CacheClusterId="old-cache")
    assert code(e.value) == "InvalidCacheClusterState"
    states = {c["CacheClusterId"]: c["CacheClusterStatus"] for c in ec.describe_cache_clusters()["CacheClusters"]}
    assert states == {"old-cache": "deleting", "shop-cache": "available"}
    states = {c["CacheClusterId"]: c["CacheClusterStatus"] for c in ec.describe_cache_clusters()["CacheClusters"]}
    assert states == {"shop-cache": "available"}
    with pytest.raises(ClientError) as e:
        ec.describe_cache_clusters(CacheClusterId="old-cache")
    assert code(e.value) == "CacheClusterNotFound"
    tagging = client_factory("resourcegroupstaggingapi", account=PROD)
    arns = [m["ResourceARN"] for m in tagging.get_resources(TagFilters=[{"Key": "owner"}])["ResourceTagMappingList"]]
    assert not any(a.endswith(":cluster:old-cache") for a in arns), arns


def test_a_force_deleted_auto_scaling_group_takes_its_instances(endpoint, client_factory):
    # What `sweep apply` relies on: the group goes first, then terminating its instance is a no-op.
    ec2 = client_factory("ec2", account=PROD, max_attempts=1)
    asg = client_factory("autoscaling", account=PROD, max_attempts=1)
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
    ami = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    lt = ec2.create_launch_template(LaunchTemplateName="old-asg-lt",
                                    LaunchTemplateData={"InstanceType": "t3.micro", "ImageId": ami})
    asg.create_auto_scaling_group(AutoScalingGroupName="old-asg", MinSize=1, MaxSize=1, DesiredCapacity=1,
                                  LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplate"]["LaunchTemplateId"]},
                                  VPCZoneIdentifier=subnet,
                                  Tags=[{"Key": "owner", "Value": "old", "PropagateAtLaunch": True}])
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["old-asg"])["AutoScalingGroups"][0]
    [member] = group["Instances"]
    tags = {t["Key"]: t["Value"] for t in ec2.describe_tags(
        Filters=[{"Name": "resource-id", "Values": [member["InstanceId"]]}])["Tags"]}
    assert tags["owner"] == "old" and tags["aws:autoscaling:groupName"] == "old-asg"
    asg.delete_auto_scaling_group(AutoScalingGroupName="old-asg", ForceDelete=True)
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=["old-asg"])["AutoScalingGroups"] == []
    state = ec2.describe_instances(InstanceIds=[member["InstanceId"]])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "terminated"
    ec2.terminate_instances(InstanceIds=[member["InstanceId"]])
    ec2.delete_launch_template(LaunchTemplateId=lt["LaunchTemplate"]["LaunchTemplateId"])
    ec2.delete_subnet(SubnetId=subnet)


def test_cloudwatch_answers_the_rpc_v2_cbor_protocol(endpoint, client_factory):
    status, headers, _ = cbor_call(endpoint, "PutMetricAlarm", {
        "AlarmName": "old-cpu", "Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Statistic": "Average",
        "Period": 300, "EvaluationPeriods": 2, "Threshold": 80.5, "ComparisonOperator": "GreaterThanThreshold",
        "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}], "Tags": [{"Key": "owner", "Value": "old"}]})
    assert status == 200 and headers["smithy-protocol"] == "rpc-v2-cbor"
    status, _, body = cbor_call(endpoint, "DescribeAlarms", {"AlarmTypes": ["MetricAlarm"]})
    [alarm] = body["MetricAlarms"]
    assert (alarm["AlarmName"], alarm["Threshold"], alarm["Dimensions"]) == (
        "old-cpu", 80.5, [{"Name": "InstanceId", "Value": "i-1"}])
    assert alarm["AlarmArn"].endswith(":alarm:old-cpu") and alarm["StateValue"] in ("OK", "ALARM", "INSUFFICIENT_DATA")
    assert alarm["AlarmConfigurationUpdatedTimestamp"].year >= 2020
    # the same alarm through the query protocol (boto3)
    cw = client_factory("cloudwatch", account=PROD, max_attempts=1)
    assert [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]] == ["old-cpu"]
    assert cbor_call(endpoint, "DeleteAlarms", {"AlarmNames": ["old-cpu"]})[0] == 200
    assert cw.describe_alarms()["MetricAlarms"] == []
    # an error keeps its code, in the body and for query-compatible clients in a header
    status, headers, body = cbor_call(endpoint, "SetAlarmState",
                                      {"AlarmName": "old-cpu", "StateValue": "OK", "StateReason": "test"})
    assert status == 404, body
    assert body["__type"] == "ResourceNotFound"
    assert headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
