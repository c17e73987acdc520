"""DeleteDBCluster as AWS answers it while the deletion runs: the cluster is listed `deleting`
from the moment the call is accepted, and a second DeleteDBCluster is refused."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

from kirikae_emulator import rds as rds_ext
from rds_support import DEV, create_cluster, dev, rds  # noqa: F401 - fixtures


def _status(client, cluster_id):
    try:
        return client.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["Status"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "DBClusterNotFoundFault", e.response
        return None


def test_a_cluster_being_deleted_is_listed_deleting_and_not_deleted_twice(dev, monkeypatch):
    create_cluster(dev, "shop-staging-old")
    # Hold the deletion inside the call (where moto takes the final snapshot) until told.
    release = threading.Event()
    original = rds_ext._ORIG["delete_db_cluster"]

    def slow(self, cluster_identifier, snapshot_name=None):
        assert release.wait(30), "never released"
        return original(self, cluster_identifier, snapshot_name)

    monkeypatch.setitem(rds_ext._ORIG, "delete_db_cluster", slow)
    outcome = {}

    def delete():
        try:
            outcome["ok"] = dev.delete_db_cluster(DBClusterIdentifier="shop-staging-old",
                                                  FinalDBSnapshotIdentifier="shop-staging-old-final")
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = e

    first = threading.Thread(target=delete)
    first.start()
    try:
        deadline = time.monotonic() + 10
        while _status(dev, "shop-staging-old") != "deleting":
            assert time.monotonic() < deadline, "never listed as deleting"
            time.sleep(0.02)
        with pytest.raises(ClientError) as e:
            dev.delete_db_cluster(DBClusterIdentifier="shop-staging-old", SkipFinalSnapshot=True)
        assert e.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
        assert "deleting" in e.value.response["Error"]["Message"]
    finally:
        release.set()
        first.join(30)
    assert "error" not in outcome, outcome
    assert outcome["ok"]["DBCluster"]["Status"] == "deleting"
    assert _status(dev, "shop-staging-old") is None
    snaps = dev.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="shop-staging-old-final")
    assert len(snaps["DBClusterSnapshots"]) == 1


def test_a_refused_deletion_leaves_the_cluster_available(dev):
    create_cluster(dev, "shop-staging-kept", DeletionProtection=True)
    with pytest.raises(ClientError):
        dev.delete_db_cluster(DBClusterIdentifier="shop-staging-kept", SkipFinalSnapshot=True)
    assert _status(dev, "shop-staging-kept") == "available"
    dev.modify_db_cluster(DBClusterIdentifier="shop-staging-kept", DeletionProtection=False, ApplyImmediately=True)
    dev.delete_db_cluster(DBClusterIdentifier="shop-staging-kept", SkipFinalSnapshot=True)
    assert _status(dev, "shop-staging-kept") is None
