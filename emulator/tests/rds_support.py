"""Shared helpers for the RDS tests (test_rds_*.py): accounts, clients, the data plane."""

from __future__ import annotations

import pymysql
import pytest
import requests

from kirikae_emulator import dataplane

PROD = "111111111111"
DEV = "222222222222"
OTHER = "333333333333"
REGION = "ap-northeast-1"
PASSWORD = "Pr0d-secret-pw"


@pytest.fixture(autouse=True)
def _nothing_left_behind(endpoint, emulator_settings):
    """Every test starts from a reset emulator; after it, a reset must leave no database or
    user with this instance's prefix on either server."""
    yield
    requests.post(f"{endpoint}/_kirikae/reset", timeout=60).raise_for_status()
    left = dataplane.leftovers(emulator_settings)
    dataplane.drop_all(emulator_settings)
    assert left == [], f"left behind after reset: {left}"


@pytest.fixture
def rds(client_factory):
    """rds(account) -> boto3 RDS client acting in that account."""
    return lambda account: client_factory("rds", account=account)


@pytest.fixture
def prod(rds):
    return rds(PROD)


@pytest.fixture
def dev(rds):
    return rds(DEV)


def create_cluster(client, cluster_id, engine="aurora-mysql", password=PASSWORD, **kw):
    kw.setdefault("MasterUsername", "admin")
    kw.setdefault("DatabaseName", "shop")
    return client.create_db_cluster(
        DBClusterIdentifier=cluster_id, Engine=engine, MasterUserPassword=password, **kw
    )["DBCluster"]


def describe(client, cluster_id):
    return client.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]


def connect(cluster, password=PASSWORD):
    """Connect exactly as a user of the emulated cluster would: with what DescribeDBClusters says."""
    info = dataplane.ConnectionInfo(
        dataplane.family(cluster["Engine"]),
        cluster["Endpoint"], cluster["Port"], cluster["MasterUsername"], password, cluster["DatabaseName"],
    )
    return dataplane.connect(info)


def query(conn, sql, params=None):
    cur = conn.cursor()
    cur.execute(sql, params) if params is not None else cur.execute(sql)
    try:
        return [tuple(r) for r in cur.fetchall()]
    except (pymysql.err.Error, Exception):
        return []


def execute(conn, *statements):
    cur = conn.cursor()
    for s in statements:
        cur.execute(s)


def arn_of_snapshot(client, snapshot_id):
    return client.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot_id)[
        "DBClusterSnapshots"][0]["DBClusterSnapshotArn"]
