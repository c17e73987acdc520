"""Cross-account clones (RestoreDBClusterToPointInTime copy-on-write with a foreign cluster ARN),
authorised by an AWS RAM share, with Aurora's one-clone-per-target-account limit."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kirikae_emulator import rds as rds_ext
from rds_support import (  # noqa: F401 - fixtures
    DEV, OTHER, PROD, _nothing_left_behind, connect, create_cluster, describe, dev, execute, prod, query, rds,
)


def _error(exc_info):
    return exc_info.value.response["Error"]["Code"], exc_info.value.response["Error"]["Message"]


def _share(client_factory, cluster_arn, *accounts):
    ram = client_factory("ram", account=PROD)
    return ram.create_resource_share(name="shop-prod-clone", resourceArns=[cluster_arn],
                                     principals=list(accounts))["resourceShare"]["resourceShareArn"]


def _clone(client, clone_id, source_arn, **kw):
    return client.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=clone_id, SourceDBClusterIdentifier=source_arn, RestoreType="copy-on-write",
        UseLatestRestorableTime=True, **kw)["DBCluster"]


@pytest.fixture
def source(prod):
    c = create_cluster(prod, "shop-prod")
    execute(connect(describe(prod, "shop-prod")), "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100))",
            "INSERT INTO users VALUES (1, 'a@example.com')")
    return c["DBClusterArn"]


def test_clone_needs_a_ram_share(dev, source, client_factory):
    with pytest.raises(ClientError) as e:
        _clone(dev, "shop-staging-r1", source)
    assert _error(e) == ("DBClusterNotFoundFault",
                         f"The source cluster could not be found or cannot be accessed: {source}")
    _share(client_factory, source, DEV)
    clone = _clone(dev, "shop-staging-r1", source)
    assert clone["DBClusterArn"].split(":")[4] == DEV
    c = describe(dev, "shop-staging-r1")
    assert c["CrossAccountClone"] is True
    assert f"_{DEV}_shop_staging_r1" in c["DatabaseName"]
    assert query(connect(c), "SELECT email FROM users") == [("a@example.com",)]
    # the shared cluster is visible to the target account
    shared = dev.describe_db_clusters(IncludeShared=True)["DBClusters"]
    assert source in [s["DBClusterArn"] for s in shared]
    assert source not in [s["DBClusterArn"] for s in dev.describe_db_clusters()["DBClusters"]]


def test_second_cross_account_clone_into_same_account_fails_until_first_is_deleted(dev, rds, source, client_factory):
    _share(client_factory, source, DEV, OTHER)
    _clone(dev, "shop-staging-r1", source)
    with pytest.raises(ClientError) as e:
        _clone(dev, "shop-staging-r2", source)
    code, message = _error(e)
    assert code == "InvalidDBClusterStateFault"
    assert "cross-account clone" in message and source in message and DEV in message
    assert "shop-staging-r2" not in [c["DBClusterIdentifier"] for c in dev.describe_db_clusters()["DBClusters"]]
    # another account has its own slot
    _clone(rds(OTHER), "audit-copy", source)
    # renaming the first clone does not free the slot; deleting it does
    dev.modify_db_cluster(DBClusterIdentifier="shop-staging-r1", NewDBClusterIdentifier="shop-staging-old",
                          ApplyImmediately=True)
    with pytest.raises(ClientError):
        _clone(dev, "shop-staging-r2", source)
    dev.delete_db_cluster(DBClusterIdentifier="shop-staging-old", SkipFinalSnapshot=True)
    _clone(dev, "shop-staging-r2", source)
    assert describe(dev, "shop-staging-r2")["CrossAccountClone"] is True


def test_fifteen_cross_account_clones_in_all(dev, source, client_factory, monkeypatch):
    monkeypatch.setattr(rds_ext, "MAX_CROSS_ACCOUNT_CLONES", 2)
    accounts = ["444444444444", "555555555555", "666666666666"]
    _share(client_factory, source, *accounts)
    for acct in accounts[:2]:
        _clone(client_factory("rds", account=acct), "c", source)
    with pytest.raises(ClientError) as e:
        _clone(client_factory("rds", account=accounts[2]), "c", source)
    assert _error(e)[0] == "InvalidDBClusterStateFault" and "maximum" in _error(e)[1]


def test_same_account_clones_are_not_limited(prod, source):
    for i in range(3):
        _clone(prod, f"exp-{i}", "shop-prod")
        c = describe(prod, f"exp-{i}")
        assert c["CrossAccountClone"] is False
        assert query(connect(c), "SELECT COUNT(*) FROM users") == [(1,)]
    _clone(prod, "by-arn", source)


def test_cross_account_clone_rules(prod, dev, client_factory):
    enc = create_cluster(prod, "enc-default", StorageEncrypted=True)
    _share(client_factory, enc["DBClusterArn"], DEV)
    with pytest.raises(ClientError) as e:
        _clone(dev, "x", enc["DBClusterArn"])
    assert _error(e)[0] == "KMSKeyNotAccessibleFault"
    plain = create_cluster(prod, "plain")
    _share(client_factory, plain["DBClusterArn"], DEV)
    with pytest.raises(ClientError) as e:
        dev.restore_db_cluster_to_point_in_time(DBClusterIdentifier="x", SourceDBClusterIdentifier=plain["DBClusterArn"],
                                                RestoreType="full-copy", UseLatestRestorableTime=True)
    assert _error(e)[0] == "InvalidParameterCombination"
    kms = client_factory("kms", account=PROD)
    key = kms.create_key(Description="prod db")["KeyMetadata"]
    cmk = create_cluster(prod, "enc-cmk", StorageEncrypted=True, KmsKeyId=key["Arn"])
    _share(client_factory, cmk["DBClusterArn"], DEV)
    clone = _clone(dev, "from-cmk", cmk["DBClusterArn"])
    assert clone["StorageEncrypted"] is True and clone["KmsKeyId"] == key["Arn"]


def test_shared_cluster_can_be_described_by_arn_only_when_shared(dev, source, client_factory):
    with pytest.raises(ClientError) as e:
        dev.describe_db_clusters(DBClusterIdentifier=source)
    assert _error(e)[0] == "DBClusterNotFoundFault"
    _share(client_factory, source, DEV)
    assert dev.describe_db_clusters(DBClusterIdentifier=source)["DBClusters"][0]["DBClusterArn"] == source
