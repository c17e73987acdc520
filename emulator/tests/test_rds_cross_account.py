"""Cross-account cluster snapshots: share, list, copy (re-encrypt) and restore by ARN."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rds_support import (  # noqa: F401 - fixtures
    DEV, OTHER, PROD, _nothing_left_behind, arn_of_snapshot, connect, create_cluster, describe, dev, execute,
    prod, query, rds,
)


def _error(exc_info):
    return exc_info.value.response["Error"]["Code"], exc_info.value.response["Error"]["Message"]


@pytest.fixture
def kms(client_factory):
    return lambda account: client_factory("kms", account=account)


def _prod_with_data(prod, **kw):
    create_cluster(prod, "shop-prod", **kw)
    execute(connect(describe(prod, "shop-prod")), "CREATE TABLE orders (id INT PRIMARY KEY, total INT)",
            "INSERT INTO orders VALUES (1, 100), (2, 250)")
    prod.create_db_cluster_snapshot(DBClusterIdentifier="shop-prod", DBClusterSnapshotIdentifier="refresh-r1")
    return arn_of_snapshot(prod, "refresh-r1")


def test_restore_by_arn_needs_sharing_first(prod, dev):
    arn = _prod_with_data(prod)
    assert arn.startswith(f"arn:aws:rds:ap-northeast-1:{PROD}:cluster-snapshot:")
    with pytest.raises(ClientError) as e:
        dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="shop-staging-r1", SnapshotIdentifier=arn,
                                             Engine="aurora-mysql")
    assert _error(e) == ("DBClusterSnapshotNotFoundFault", f"DBClusterSnapshot {arn} not found.")
    with pytest.raises(ClientError) as e:
        dev.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=arn, TargetDBClusterSnapshotIdentifier="mine")
    assert _error(e)[0] == "DBClusterSnapshotNotFoundFault"
    assert dev.describe_db_cluster_snapshots(SnapshotType="shared", IncludeShared=True)["DBClusterSnapshots"] == []

    prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="refresh-r1", AttributeName="restore",
                                              ValuesToAdd=[DEV])
    attrs = prod.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="refresh-r1")
    assert attrs["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"] == [
        {"AttributeName": "restore", "AttributeValues": [DEV]}]
    shared = dev.describe_db_cluster_snapshots(SnapshotType="shared", IncludeShared=True)["DBClusterSnapshots"]
    assert [s["DBClusterSnapshotArn"] for s in shared] == [arn]
    listed = dev.describe_db_cluster_snapshots(IncludeShared=True)["DBClusterSnapshots"]
    assert arn in [s["DBClusterSnapshotArn"] for s in listed]
    assert arn not in [s["DBClusterSnapshotArn"] for s in dev.describe_db_cluster_snapshots()["DBClusterSnapshots"]]
    assert dev.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=arn)["DBClusterSnapshots"][0][
        "DBClusterSnapshotArn"] == arn

    restored = dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="shop-staging-r1", SnapshotIdentifier=arn,
                                                    Engine="aurora-mysql")["DBCluster"]
    assert restored["DBClusterArn"].split(":")[4] == DEV
    r = describe(dev, "shop-staging-r1")
    assert f"_{DEV}_" in r["DatabaseName"]
    assert query(connect(r), "SELECT id, total FROM orders ORDER BY id") == [(1, 100), (2, 250)]


def test_third_account_and_unsharing(prod, dev, rds):
    arn = _prod_with_data(prod)
    prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="refresh-r1", AttributeName="restore",
                                              ValuesToAdd=[DEV])
    other = rds(OTHER)
    with pytest.raises(ClientError) as e:
        other.restore_db_cluster_from_snapshot(DBClusterIdentifier="x", SnapshotIdentifier=arn, Engine="aurora-mysql")
    assert _error(e)[0] == "DBClusterSnapshotNotFoundFault"
    prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="refresh-r1", AttributeName="restore",
                                              ValuesToRemove=[DEV])
    with pytest.raises(ClientError) as e:
        dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="x", SnapshotIdentifier=arn, Engine="aurora-mysql")
    assert _error(e)[0] == "DBClusterSnapshotNotFoundFault"


def test_default_key_snapshot_cannot_be_shared_and_copy_with_cmk_fixes_it(prod, dev, kms):
    arn = _prod_with_data(prod, StorageEncrypted=True)  # no KmsKeyId: the account's aws/rds key
    snap = prod.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="refresh-r1")["DBClusterSnapshots"][0]
    default_key = kms(PROD).describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]
    assert snap["StorageEncrypted"] is True and snap["KmsKeyId"] == default_key
    with pytest.raises(ClientError) as e:
        prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="refresh-r1", AttributeName="restore",
                                                  ValuesToAdd=[DEV])
    code, message = _error(e)
    assert code == "InvalidParameterValue" and "default KMS key" in message
    with pytest.raises(ClientError) as e:
        prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="refresh-r1", AttributeName="restore",
                                                  ValuesToAdd=["all"])
    assert _error(e)[0] == "InvalidParameterValue"
    # even if it had been shared (as if by an older emulator), the target cannot use the key
    from moto.rds.models import rds_backends

    rds_backends[PROD]["ap-northeast-1"].cluster_snapshots["refresh-r1"].attributes["restore"].append(DEV)
    with pytest.raises(ClientError) as e:
        dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="x", SnapshotIdentifier=arn, Engine="aurora-mysql")
    assert _error(e)[0] == "KMSKeyNotAccessibleFault"
    rds_backends[PROD]["ap-northeast-1"].cluster_snapshots["refresh-r1"].attributes["restore"].remove(DEV)

    # the workaround: copy with a customer managed key, share the copy
    cmk = kms(PROD).create_key(Description="staging refresh")["KeyMetadata"]
    kms(PROD).create_alias(AliasName="alias/refresh", TargetKeyId=cmk["KeyId"])
    copy = prod.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="refresh-r1",
                                         TargetDBClusterSnapshotIdentifier="refresh-r1-cmk",
                                         KmsKeyId="alias/refresh")["DBClusterSnapshot"]
    assert copy["KmsKeyId"] == cmk["Arn"] and copy["StorageEncrypted"] is True
    prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="refresh-r1-cmk", AttributeName="restore",
                                              ValuesToAdd=[DEV])
    copy_arn = copy["DBClusterSnapshotArn"]
    # copying a shared encrypted snapshot needs a KmsKeyId in the target account (AWS's rule)
    with pytest.raises(ClientError) as e:
        dev.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=copy_arn,
                                     TargetDBClusterSnapshotIdentifier="staging-src")
    assert _error(e)[0] == "KMSKeyNotAccessibleFault"
    dev_key = kms(DEV).create_key(Description="staging db")["KeyMetadata"]
    kms(DEV).create_alias(AliasName="alias/staging-db", TargetKeyId=dev_key["KeyId"])
    local = dev.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=copy_arn,
                                         TargetDBClusterSnapshotIdentifier="staging-src",
                                         KmsKeyId="alias/staging-db")["DBClusterSnapshot"]
    assert local["KmsKeyId"] == dev_key["Arn"] and local["DBClusterSnapshotArn"].split(":")[4] == DEV
    # restore directly from the shared copy with the dev key, and from the local copy
    dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="staging-a", SnapshotIdentifier=copy_arn,
                                         Engine="aurora-mysql", KmsKeyId="alias/staging-db")
    dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="staging-b", SnapshotIdentifier="staging-src",
                                         Engine="aurora-mysql")
    for cid in ("staging-a", "staging-b"):
        c = describe(dev, cid)
        assert c["KmsKeyId"] == dev_key["Arn"] and c["StorageEncrypted"] is True
        assert query(connect(c), "SELECT COUNT(*) FROM orders") == [(2,)]
    # deleting prod's snapshots does not take the copy's data with it
    prod.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="refresh-r1-cmk")
    prod.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="refresh-r1")
    dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="staging-c", SnapshotIdentifier="staging-src",
                                         Engine="aurora-mysql")
    assert query(connect(describe(dev, "staging-c")), "SELECT COUNT(*) FROM orders") == [(2,)]


def test_restore_honours_network_parameter_group_tags_and_protection(prod, dev, client_factory):
    arn = _prod_with_data(prod, DeletionProtection=True)
    prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="refresh-r1", AttributeName="restore",
                                              ValuesToAdd=[DEV])
    ec2 = client_factory("ec2", account=DEV)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"ap-northeast-1{az}")[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "c"))]
    sg = ec2.create_security_group(GroupName="staging-db", Description="db", VpcId=vpc)["GroupId"]
    dev.create_db_subnet_group(DBSubnetGroupName="staging-db", DBSubnetGroupDescription="db", SubnetIds=subnets)
    dev.create_db_cluster_parameter_group(DBClusterParameterGroupName="staging-pg",
                                          DBParameterGroupFamily="aurora-mysql8.0", Description="pg")
    c = dev.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="shop-staging-r1", SnapshotIdentifier=arn, Engine="aurora-mysql",
        DBSubnetGroupName="staging-db", VpcSecurityGroupIds=[sg], DBClusterParameterGroupName="staging-pg",
        Tags=[{"Key": "kirikae:run", "Value": "r1"}], DeletionProtection=True)["DBCluster"]
    c = describe(dev, "shop-staging-r1")
    assert c["DBSubnetGroup"] == "staging-db"
    assert [g["VpcSecurityGroupId"] for g in c["VpcSecurityGroups"]] == [sg]
    assert c["DBClusterParameterGroup"] == "staging-pg"
    assert {"Key": "kirikae:run", "Value": "r1"} in c["TagList"]
    assert c["DeletionProtection"] is True
    with pytest.raises(ClientError):
        dev.delete_db_cluster(DBClusterIdentifier="shop-staging-r1", SkipFinalSnapshot=True)
    # without those parameters AWS uses defaults: nothing of prod's network or protection carries over
    dev.restore_db_cluster_from_snapshot(DBClusterIdentifier="plain", SnapshotIdentifier=arn, Engine="aurora-mysql")
    p = describe(dev, "plain")
    assert p["DeletionProtection"] is False and p["DBSubnetGroup"] == "default" and p["VpcSecurityGroups"] == []
    assert p["TagList"] == []


def test_same_account_restore_by_arn_and_automated_snapshots_cannot_be_shared(prod):
    arn = _prod_with_data(prod)
    prod.restore_db_cluster_from_snapshot(DBClusterIdentifier="copy", SnapshotIdentifier=arn, Engine="aurora-mysql")
    assert query(connect(describe(prod, "copy")), "SELECT COUNT(*) FROM orders") == [(2,)]
    auto = [s for s in prod.describe_db_cluster_snapshots(SnapshotType="automated")["DBClusterSnapshots"]
            if s["DBClusterIdentifier"] == "shop-prod"][0]
    with pytest.raises(ClientError) as e:
        prod.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier=auto["DBClusterSnapshotIdentifier"],
                                                  AttributeName="restore", ValuesToAdd=[DEV])
    assert _error(e)[0] == "InvalidDBClusterSnapshotStateFault"
