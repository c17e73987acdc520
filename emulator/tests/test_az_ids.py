"""Availability Zone ids per account (the az_ids extension): the same AZ name is another AZ in
another account, consistently in DescribeAvailabilityZones, subnets and CreateSubnet; and the
elasticache extension's AZ of each cache node, which `kirikae audit az` reads."""

from __future__ import annotations

from kirikae_emulator.seed import DEV, PROD


def _mapping(ec2) -> dict[str, str]:
    return {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}


def test_two_accounts_map_names_to_different_ids_of_the_same_set(endpoint, client_factory):
    prod = _mapping(client_factory("ec2", account=PROD))
    dev = _mapping(client_factory("ec2", account=DEV))
    assert sorted(prod) == sorted(dev) == ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
    assert sorted(prod.values()) == sorted(dev.values())
    assert prod != dev
    # Each account always answers the same.
    assert _mapping(client_factory("ec2", account=PROD)) == prod


def test_filters_subnets_and_create_subnet_use_the_accounts_ids(endpoint, client_factory):
    ec2 = client_factory("ec2", account=DEV)
    mine = _mapping(ec2)
    zone_id = mine["ap-northeast-1c"]
    got = ec2.describe_availability_zones(ZoneIds=[zone_id])["AvailabilityZones"]
    assert [z["ZoneName"] for z in got] == ["ap-northeast-1c"]
    got = ec2.describe_availability_zones(Filters=[{"Name": "zone-id", "Values": [zone_id]}])["AvailabilityZones"]
    assert [z["ZoneName"] for z in got] == ["ap-northeast-1c"]

    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    by_name = ec2.create_subnet(VpcId=vpc, CidrBlock="10.50.1.0/24", AvailabilityZone="ap-northeast-1c")["Subnet"]
    assert by_name["AvailabilityZoneId"] == zone_id
    by_id = ec2.create_subnet(VpcId=vpc, CidrBlock="10.50.2.0/24", AvailabilityZoneId=zone_id)["Subnet"]
    assert by_id["AvailabilityZone"] == "ap-northeast-1c"
    assert by_id["AvailabilityZoneId"] == zone_id
    described = ec2.describe_subnets(SubnetIds=[by_name["SubnetId"]])["Subnets"][0]
    assert described["AvailabilityZoneId"] == zone_id


def test_cache_nodes_report_their_az(endpoint, client_factory):
    ec = client_factory("elasticache", account=PROD)
    ec.create_cache_cluster(CacheClusterId="one", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=1, PreferredAvailabilityZone="ap-northeast-1c")
    ec.create_cache_cluster(CacheClusterId="two", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=2, AZMode="cross-az",
                            PreferredAvailabilityZones=["ap-northeast-1a", "ap-northeast-1c"])
    got = {c["CacheClusterId"]: [n["CustomerAvailabilityZone"] for n in c["CacheNodes"]]
           for c in ec.describe_cache_clusters(ShowCacheNodeInfo=True)["CacheClusters"]}
    assert got == {"one": ["ap-northeast-1c"], "two": ["ap-northeast-1a", "ap-northeast-1c"]}
