"""`seed story`'s part for the staging refresh (refresh_seed.py), and the copy of a copy that the
refresh's snapshot path makes (a view's definition must name the copy's database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pymysql
import pytest

from kirikae_emulator import refresh_seed, seed, story_data
from kirikae_emulator.bastion import resolve

EMULATOR = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["loopback", "realistic"])
def endpoints_mode(request, emulator_settings):
    """The seed works whether clusters report the private server or AWS's names (which it
    reaches the way the bastion does)."""
    emulator_settings.endpoints = request.param
    yield request.param
    emulator_settings.endpoints = "loopback"


def test_story_has_a_refresh_section_and_the_staging_world(endpoint, tmp_path, endpoints_mode):
    out = tmp_path / "story" / "kirikae.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "kirikae_emulator", "seed", "story", "--endpoint", endpoint, "--config-out", str(out)],
        env=dict(os.environ, PYTHONPATH=str(EMULATOR)), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    config = tomllib.loads(out.read_text())
    r = config["refresh"]["staging"]
    assert r["source"] == {"account": "prod", "cluster": "shop-prod-cmk", "kms_key": "alias/shop-prod-snapshots"}
    assert r["target"]["cluster"] == "staging" and r["target"]["subnet_group"] == "staging-db"
    assert Path(r["masking"]).is_file()

    prod_rds = seed.client("rds", endpoint, seed.PROD)
    cmk = prod_rds.describe_db_clusters(DBClusterIdentifier="shop-prod-cmk")["DBClusters"][0]
    kms = seed.client("kms", endpoint, seed.PROD)
    assert cmk["KmsKeyId"] == kms.describe_key(KeyId="alias/shop-prod-data")["KeyMetadata"]["Arn"]
    # the key policy of the re-encryption key names the dev account
    key = kms.describe_key(KeyId="alias/shop-prod-snapshots")["KeyMetadata"]["Arn"]
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert any("arn:aws:iam::222222222222:root" in json.dumps(s["Principal"]) for s in policy["Statement"])
    # the copy of shop-prod's data holds every row, views included (a copy of a copy)
    assert cmk["Endpoint"].endswith(".rds.amazonaws.com") == (endpoints_mode == "realistic")
    host, port = resolve(endpoint, cmk["Endpoint"], int(cmk["Port"]))
    conn = pymysql.connect(host=host, port=port, user=cmk["MasterUsername"],
                           password=seed.MASTER_PASSWORD, database=cmk["DatabaseName"])
    try:
        cur = conn.cursor()
        for table, n in story_data.generate().counts().items():
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            assert cur.fetchone()[0] == n, table
        cur.execute("SELECT COUNT(*) FROM member_spending")
        assert cur.fetchone()[0] > 0
    finally:
        conn.close()

    dev_rds = seed.client("rds", endpoint, seed.DEV)
    staging = dev_rds.describe_db_clusters(DBClusterIdentifier="staging")["DBClusters"][0]
    tags = {t["Key"]: t["Value"] for t in staging["TagList"]}
    assert staging["DeletionProtection"] is True
    sm = seed.client("secretsmanager", endpoint, seed.DEV)
    secret = json.loads(sm.get_secret_value(SecretId=tags[refresh_seed.SECRET_TAG])["SecretString"])
    host, port = resolve(endpoint, staging["Endpoint"], int(staging["Port"]))
    conn = pymysql.connect(host=host, port=port, user=staging["MasterUsername"],
                           password=secret["password"], database=staging["DatabaseName"], charset="utf8mb4")
    try:
        cur = conn.cursor()
        # production's schema, with one member masked long ago
        cur.execute("SELECT id, name FROM members")
        assert cur.fetchall() == ((1, "Masked Person"),)
        cur.execute("SELECT COUNT(*) FROM reservations")
        assert cur.fetchone()[0] == 0
    finally:
        conn.close()
