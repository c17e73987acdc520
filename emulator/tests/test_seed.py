"""`seed story`: the files it writes let a user (boto3 here, kirikae in real life) sign in to the
jump account, switch role into prod with the TOTP code and see the production cluster's data."""

from __future__ import annotations

import configparser
import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import boto3
import pymysql
import pytest
from botocore.exceptions import ClientError

from kirikae_emulator import extensions, seed, story_data

EMULATOR = Path(__file__).resolve().parents[1]


def run_seed(endpoint, config_out, cwd):
    env = dict(os.environ, PYTHONPATH=str(EMULATOR))
    return subprocess.run(
        [sys.executable, "-m", "kirikae_emulator", "seed", "story", "--endpoint", endpoint, "--config-out",
         str(config_out)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def seeded(endpoint, tmp_path):
    out = tmp_path / "story" / "kirikae.toml"
    proc = run_seed(endpoint, out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def mfa_code(config, cwd):
    # what kirikae does: `sh -c <mfa_command>`, from any directory, without our PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(["sh", "-c", config["jump"]["mfa_command"]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_config_has_exactly_the_agreed_schema(seeded, endpoint):
    out, stdout = seeded
    text = out.read_text()
    assert text.startswith("# Written by `scripts/emulator seed story`")
    config = tomllib.loads(text)
    assert set(config) == {"aws", "jump", "state", "accounts", "refresh"}
    assert config["aws"] == {"region": "ap-northeast-1", "endpoint_url": endpoint}
    assert set(config["jump"]) == {"profile", "credentials_file", "mfa_serial", "mfa_command"}
    assert config["jump"]["profile"] == "jump"
    assert config["jump"]["credentials_file"] == "credentials"
    assert config["jump"]["mfa_serial"] == "arn:aws:iam::100000000000:mfa/hanako"
    assert config["state"] == {"dir": "state"}
    assert config["accounts"] == {
        "prod": {"id": "111111111111", "role": "ops", "alias": "shop-prod", "protected": True},
        "dev": {"id": "222222222222", "role": "ops", "alias": "shop-dev"},
    }
    assert stdout.strip().splitlines()[-1] == f"config: {out}"
    for name in ("credentials", "mfa.secret"):
        mode = stat.S_IMODE((out.parent / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"


def test_seeded_files_let_hanako_switch_into_prod(seeded, endpoint, tmp_path):
    out, _ = seeded
    config = tomllib.loads(out.read_text())
    creds = configparser.ConfigParser()
    creds.read(out.parent / config["jump"]["credentials_file"])
    session = boto3.Session(
        aws_access_key_id=creds["jump"]["aws_access_key_id"],
        aws_secret_access_key=creds["jump"]["aws_secret_access_key"],
        region_name=config["aws"]["region"],
    )
    sts = session.client("sts", endpoint_url=config["aws"]["endpoint_url"])
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::100000000000:user/hanako"
    prod = config["accounts"]["prod"]
    role_arn = f"arn:aws:iam::{prod['id']}:role/{prod['role']}"
    # without MFA the trust policy refuses
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="hanako")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    code = mfa_code(config, cwd=tmp_path)
    assert len(code) == 6 and code.isdigit()
    got = sts.assume_role(RoleArn=role_arn, RoleSessionName="hanako", SerialNumber=config["jump"]["mfa_serial"],
                          TokenCode=code)["Credentials"]
    as_prod = boto3.Session(aws_access_key_id=got["AccessKeyId"], aws_secret_access_key=got["SecretAccessKey"],
                            aws_session_token=got["SessionToken"], region_name="ap-northeast-1")
    ident = as_prod.client("sts", endpoint_url=endpoint).get_caller_identity()
    assert ident["Account"] == "111111111111"
    assert ident["Arn"] == "arn:aws:sts::111111111111:assumed-role/ops/hanako"
    rds = as_prod.client("rds", endpoint_url=endpoint)
    clusters = rds.describe_db_clusters()["DBClusters"]
    # shop-prod-cmk: the staging refresh's source on a customer-managed key (refresh_seed.py)
    assert [c["DBClusterIdentifier"] for c in clusters] == ["shop-prod", "shop-prod-cmk"]
    assert [m["DBInstanceIdentifier"] for m in clusters[0]["DBClusterMembers"]] == ["shop-prod-1"]
    assert clusters[0]["Engine"] == "aurora-mysql"
    # readonly exists in dev only: asking for it in prod is "no such role" (AccessDenied)
    for account, allowed in (("222222222222", True), ("111111111111", False)):
        arn = f"arn:aws:iam::{account}:role/readonly"
        kwargs = dict(RoleArn=arn, RoleSessionName="hanako", SerialNumber=config["jump"]["mfa_serial"],
                      TokenCode=mfa_code(config, cwd=tmp_path))
        if allowed:
            sts.assume_role(**kwargs)
        else:
            with pytest.raises(ClientError) as e:
                sts.assume_role(**kwargs)
            assert e.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.skipif("rds" not in extensions.MODULES, reason="the RDS data plane is not installed")
def test_prod_cluster_holds_the_generated_shop_data(seeded, endpoint):
    out, stdout = seeded
    rds = boto3.client("rds", region_name="ap-northeast-1", endpoint_url=endpoint,
                       aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    rds.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__("x-moto-account-id",
                                                                                          "111111111111"))
    cluster = rds.describe_db_clusters(DBClusterIdentifier="shop-prod")["DBClusters"][0]
    conn = pymysql.connect(host=cluster["Endpoint"], port=cluster["Port"], user=cluster["MasterUsername"],
                           password=seed.MASTER_PASSWORD, database=cluster["DatabaseName"], charset="utf8mb4")
    expected = story_data.generate()
    try:
        cur = conn.cursor()
        for table, n in expected.counts().items():
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            assert cur.fetchone()[0] == n, table
        cur.execute("SELECT id, name, name_kana, email, phone FROM members WHERE id = 1")
        assert cur.fetchone() == expected.rows["members"][0][:5]
        cur.execute("SELECT JSON_VALUE(payment, '$.card.number') FROM reservations WHERE id = 1")
        assert cur.fetchone()[0] == json.loads(expected.rows["reservations"][0][7])["card"]["number"]
        cur.execute("SELECT COUNT(*) FROM member_spending")  # the view came along
        assert cur.fetchone()[0] > 0
    finally:
        conn.close()
    assert "members 2000" in stdout and "reservations 8000" in stdout


def test_seed_twice_on_one_emulator_gives_a_working_world(seeded, endpoint, tmp_path):
    out, _ = seeded
    first_key = configparser.ConfigParser()
    first_key.read(out.parent / "credentials")
    proc = run_seed(endpoint, out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = tomllib.loads(out.read_text())
    creds = configparser.ConfigParser()
    creds.read(out.parent / "credentials")
    assert creds["jump"]["aws_access_key_id"] != first_key["jump"]["aws_access_key_id"]
    sts = boto3.client("sts", region_name="ap-northeast-1", endpoint_url=endpoint,
                       aws_access_key_id=creds["jump"]["aws_access_key_id"],
                       aws_secret_access_key=creds["jump"]["aws_secret_access_key"])
    got = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/ops", RoleSessionName="again",
                          SerialNumber=config["jump"]["mfa_serial"], TokenCode=mfa_code(config, tmp_path))
    assert got["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111111111111:assumed-role/ops/again"


def test_seed_refuses_a_non_loopback_endpoint(tmp_path):
    proc = run_seed("http://example.com:5000", tmp_path / "k.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "refusing endpoint" in proc.stderr
    assert not (tmp_path / "k.toml").exists()
