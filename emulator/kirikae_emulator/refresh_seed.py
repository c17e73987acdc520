"""The staging refresh's part of the story's world (called by `seed story`).

prod 111111111111:
  * KMS key `alias/shop-prod-snapshots` (customer managed; its key policy lets dev use it): the key
    a refresh re-encrypts default-key snapshots with before sharing them;
  * KMS key `alias/shop-prod-data` (customer managed, policy lets dev use it) and the cluster
    `shop-prod-cmk` encrypted with it: a copy of shop-prod's data made the way AWS users move a
    cluster off the default key (snapshot, copy with the key, restore). Aurora can clone only such
    a cluster into another account, so this is the source that shows the one-clone-per-account
    limit.
dev 222222222222:
  * a VPC with two subnets, the DB subnet group `staging-db`, the security group `staging-db`,
    the cluster parameter group `staging-aurora-mysql8`, KMS key `alias/staging`;
  * the serving `staging` cluster (writer `staging-1`, deletion protection on) holding production's
    schema (story_data.py) with one already masked member (`OLD_STAGING_MEMBER`) and no other
    rows, with its master password in Secrets Manager (`staging/master`, named by the cluster's
    tag `kirikae:secret`).

Idempotent on one emulator, like the rest of the seed.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from botocore.exceptions import ClientError

from . import story_data

PROD, DEV = "111111111111", "222222222222"
SOURCE = "shop-prod"
CMK_SOURCE = "shop-prod-cmk"
STAGING = "staging"
STAGING_PASSWORD = "kirikae-story-staging"  # fake, local emulator only
SECRET_TAG = "kirikae:secret"
# The old staging's one member, masked long ago: what a refresh replaces.
OLD_STAGING_MEMBER = (1, "Masked Person", "マスクズミ", "masked-1@example.invalid", "090-0000-0000", "000-0000",
                      "東京都", "千代田区", "千代田1-1", None, "2019-04-01 00:00:00")


def key_policy(owner: str, users: list[str]) -> str:
    statements = [{
        "Sid": "Enable IAM policies", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{owner}:root"}, "Action": "kms:*", "Resource": "*",
    }]
    if users:
        statements.append({
            "Sid": "Let the staging account restore snapshots encrypted with this key", "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in users]},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncrypt*",
                       "kms:GenerateDataKey*"],
            "Resource": "*",
        })
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def ensure_key(kms, alias: str, policy: str) -> str:
    try:
        return kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "NotFoundException":
            raise
    arn = kms.create_key(Description=f"kirikae story: {alias}", Policy=policy)["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn


def _clusters(rds) -> dict:
    return {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}


def seed_prod(client, endpoint: str) -> dict:
    kms = client("kms", endpoint, PROD)
    snapshots_key = ensure_key(kms, "alias/shop-prod-snapshots", key_policy(PROD, [DEV]))
    data_key = ensure_key(kms, "alias/shop-prod-data", key_policy(PROD, [DEV]))
    rds = client("rds", endpoint, PROD)
    if CMK_SOURCE not in _clusters(rds):
        snap, copy = f"{CMK_SOURCE}-seed", f"{CMK_SOURCE}-seed-cmk"
        for s in (snap, copy):
            try:
                rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=s)
            except ClientError:
                pass
        rds.create_db_cluster_snapshot(DBClusterIdentifier=SOURCE, DBClusterSnapshotIdentifier=snap)
        rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=snap, TargetDBClusterSnapshotIdentifier=copy,
                                     KmsKeyId="alias/shop-prod-data")
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=CMK_SOURCE, SnapshotIdentifier=copy, Engine="aurora-mysql",
            KmsKeyId="alias/shop-prod-data", DeletionProtection=True,
            Tags=[{"Key": "env", "Value": "prod"}, {"Key": "app", "Value": "shop"}])
        rds.create_db_instance(DBInstanceIdentifier=f"{CMK_SOURCE}-1", DBClusterIdentifier=CMK_SOURCE,
                               Engine="aurora-mysql", DBInstanceClass="db.r6g.large")
        for s in (copy, snap):
            rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=s)
    return {"snapshots_key": snapshots_key, "data_key": data_key}


def seed_dev(client, endpoint: str) -> dict:
    ec2 = client("ec2", endpoint, DEV)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["staging"]}])["Vpcs"]
    if vpcs:
        vpc = vpcs[0]["VpcId"]
    else:
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "staging"}]}])["Vpc"]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    for i, az in enumerate(("ap-northeast-1a", "ap-northeast-1c")[len(subnets):], start=len(subnets)):
        subnets.append(ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"])
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["staging-db"]},
                                                   {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    sg = groups[0]["GroupId"] if groups else ec2.create_security_group(
        GroupName="staging-db", Description="staging database", VpcId=vpc)["GroupId"]
    rds = client("rds", endpoint, DEV)
    try:
        rds.create_db_subnet_group(DBSubnetGroupName="staging-db", DBSubnetGroupDescription="staging database",
                                   SubnetIds=subnets)
    except ClientError as e:
        if e.response["Error"]["Code"] != "DBSubnetGroupAlreadyExists":
            raise
    try:
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="staging-aurora-mysql8",
                                              DBParameterGroupFamily="aurora-mysql8.0",
                                              Description="staging")
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("DBParameterGroupAlreadyExists", "DBClusterParameterGroupAlreadyExists"):
            raise
    kms = client("kms", endpoint, DEV)
    key = ensure_key(kms, "alias/staging", key_policy(DEV, []))
    sm = client("secretsmanager", endpoint, DEV)
    secret_value = json.dumps({"username": "admin", "password": STAGING_PASSWORD})
    try:
        secret = sm.create_secret(Name="staging/master", SecretString=secret_value)["ARN"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceExistsException":
            raise
        secret = sm.put_secret_value(SecretId="staging/master", SecretString=secret_value)["ARN"]
    # A rerun leaves an existing staging as it is: a refresh may have replaced it (its password is
    # then in the refresh's secret, and its data is the masked copy).
    created = STAGING not in _clusters(rds)
    if created:
        rds.create_db_cluster(
            DBClusterIdentifier=STAGING, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
            MasterUsername="admin", MasterUserPassword=STAGING_PASSWORD, DatabaseName="shop",
            StorageEncrypted=True, KmsKeyId="alias/staging", DeletionProtection=True,
            DBSubnetGroupName="staging-db", VpcSecurityGroupIds=[sg],
            DBClusterParameterGroupName="staging-aurora-mysql8",
            Tags=[{"Key": "env", "Value": "staging"}, {"Key": SECRET_TAG, "Value": secret}])
        rds.create_db_instance(DBInstanceIdentifier=f"{STAGING}-1", DBClusterIdentifier=STAGING,
                               Engine="aurora-mysql", DBInstanceClass="db.t4g.medium")
    cluster = _clusters(rds)[STAGING]
    from .bastion import ResolveError, resolve

    try:  # where the (possibly realistic, unresolvable) endpoint really lives
        host, port = resolve(endpoint, cluster["Endpoint"], int(cluster["Port"]))
    except ResolveError:
        host, port = cluster["Endpoint"], int(cluster["Port"])
    if created and host in ("127.0.0.1", "localhost", "::1"):
        import pymysql

        conn = pymysql.connect(host=host, port=port, user=cluster["MasterUsername"],
                               password=STAGING_PASSWORD, database=cluster["DatabaseName"], autocommit=True,
                               charset="utf8mb4")
        try:
            cur = conn.cursor()
            for statement in story_data.schema_sql("mysql").split(";\n"):
                if statement.strip():
                    cur.execute(statement)
            columns = ", ".join(story_data.COLUMNS["members"])
            marks = ", ".join(["%s"] * len(OLD_STAGING_MEMBER))
            cur.execute(f"REPLACE INTO members ({columns}) VALUES ({marks})", OLD_STAGING_MEMBER)
        finally:
            conn.close()
    return {"vpc": vpc, "subnets": subnets, "security_group": sg, "kms_key": key, "secret": secret}


def seed(client, endpoint: str) -> dict:
    return {"prod": seed_prod(client, endpoint), "dev": seed_dev(client, endpoint)}


def test_ca() -> Path:
    """The CA of the checkout's private database servers (scripts/db): $KIRIKAE_TEST_CA, else
    its default place."""
    return Path(os.environ.get("KIRIKAE_TEST_CA")
                or Path(__file__).resolve().parents[2] / ".kirikae-local" / "tls" / "ca.pem")


def bastion_command(endpoint: str) -> str:
    """The tunnel command that reaches the emulated clusters: the emulator's bastion (any python3;
    standard library only), as `ssh -N -L` or an SSM port-forwarding session reaches real ones."""
    bastion = Path(__file__).resolve().with_name("bastion.py")
    return " ".join([shlex.quote(sys.executable), shlex.quote(str(bastion)), "--endpoint-url",
                     shlex.quote(endpoint), "{host}", "{port}", "{local_port}"])


def render_config(dev: dict, masking: str, endpoint: str) -> str:
    return f"""
[refresh.staging]
masking = {json.dumps(masking)}
# The clusters' endpoints resolve only inside the (emulated) VPC: every connection goes through
# the emulator's bastion, with TLS verified against the cluster's real endpoint name. A real
# estate: tunnel = "ssh -N -L {{local_port}}:{{host}}:{{port}} bastion" and
# ca_bundle = "global-bundle.pem" (docs/refresh.md).
tunnel = {json.dumps(bastion_command(endpoint))}
tls = "verify-full"
ca_bundle = {json.dumps(str(test_ca()))}
[refresh.staging.source]
account = "prod"
cluster = "{CMK_SOURCE}"
kms_key = "alias/shop-prod-snapshots"
[refresh.staging.target]
account = "dev"
cluster = "{STAGING}"
subnet_group = "staging-db"
security_groups = [{json.dumps(dev["security_group"])}]
instance_class = "db.t4g.medium"
kms_key = "alias/staging"
parameter_group = "staging-aurora-mysql8"
"""
