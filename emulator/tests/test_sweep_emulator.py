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
