"""Looks at the emulator's world for the refresh tests, as an outsider (boto3 + pymysql).

  row URL CLUSTER            -> {"name", "email"} of member 1 through the dev cluster CLUSTER
  prod-row URL CLUSTER       -> the same through the prod cluster CLUSTER (production's original)
  leftovers URL              -> what refreshes left behind (should be empty after a finished run)
  probe URL OUT STOP         -> every 200 ms: describe `staging`, connect, read member 1; a JSON line per
                                probe into OUT until the file STOP exists
  drop-dev-from-policy URL KEY -> the key policy of KEY (prod) without the dev account
  other-vpc-sg URL           -> the id of a security group `elsewhere` in a second VPC of dev
  set-cname URL ZONE NAME VALUE -> UPSERT of the CNAME NAME -> VALUE in ZONE (dev)
  set-password URL CLUSTER PASSWORD -> ModifyDBCluster MasterUserPassword of the dev cluster CLUSTER
  prod-tags URL CLUSTER      -> the tags of the prod cluster CLUSTER as {key: value}
  prod-tag URL CLUSTER KEY VALUE -> sets the tag KEY = VALUE on the prod cluster CLUSTER
  pg-world URL               -> the story on PostgreSQL: prod `shop-pg` (aurora-postgresql, the story's
                                data, encrypted with alias/shop-prod-data) and dev `staging` replaced by
                                an aurora-postgresql cluster (schema only, password in `staging/master`)
  pg-row URL CLUSTER         -> `row` of a PostgreSQL dev cluster
  leftovers URL [KEEP...]    -> (also) prod clusters KEEP are not leftovers
  prod-exec URL CLUSTER SQL  -> runs the statements SQL (one per `;`) on the prod cluster CLUSTER, as
                                production's own team would (a migration)
"""

import json
import os
import sys
import time

import pymysql
from botocore.exceptions import ClientError

from kirikae_emulator import seed

DEV, PROD = seed.DEV, seed.PROD
_URL = None  # the emulator's URL (set by the command line): where endpoint names really live


def _where(c: dict) -> tuple[str, int]:
    """Where the cluster `c` (as described) really listens: its endpoint name does not resolve
    with the emulator's realistic endpoints, so ask the emulator, as its bastion does. A name no
    cluster holds (between the two renames of a switch-over, as a name without a DNS record on
    AWS) is kirikae_emulator.bastion.ResolveError."""
    from kirikae_emulator.bastion import resolve
    return resolve(_URL, c["Endpoint"], int(c["Port"]))


def _connect(url, cluster_id):
    rds = seed.client("rds", url, DEV)
    c = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    tags = {t["Key"]: t["Value"] for t in c.get("TagList", [])}
    secret = json.loads(seed.client("secretsmanager", url, DEV).get_secret_value(
        SecretId=tags["kirikae:secret"])["SecretString"])
    host, port = _where(c)
    return pymysql.connect(host=host, port=port, user=c["MasterUsername"],
                           password=secret["password"], database=c["DatabaseName"], connect_timeout=5,
                           charset="utf8mb4")


def _member(conn):
    try:
        cur = conn.cursor()
        cur.execute("SELECT name, email FROM members WHERE id = 1")
        r = cur.fetchone()
        return {"name": r[0], "email": r[1]}
    finally:
        conn.close()


def row(url, cluster_id):
    return _member(_connect(url, cluster_id))


def prod_row(url, cluster_id):
    c = seed.client("rds", url, PROD).describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    host, port = _where(c)
    return _member(pymysql.connect(host=host, port=port, user=c["MasterUsername"],
                                   password=seed.MASTER_PASSWORD, database=c["DatabaseName"], connect_timeout=5,
                                   charset="utf8mb4"))


def prod_exec(url, cluster_id, sql):
    c = seed.client("rds", url, PROD).describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    host, port = _where(c)
    conn = pymysql.connect(host=host, port=port, user=c["MasterUsername"], password=seed.MASTER_PASSWORD,
                           database=c["DatabaseName"], connect_timeout=5, charset="utf8mb4", autocommit=True)
    try:
        cur = conn.cursor()
        for stmt in sql.split(";"):
            if stmt.strip():
                cur.execute(stmt)
    finally:
        conn.close()


def leftovers(url, keep=()):
    out = []
    prod_rds, dev_rds = seed.client("rds", url, PROD), seed.client("rds", url, DEV)
    for acct, rds in (("prod", prod_rds), ("dev", dev_rds)):
        for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]:
            out.append(f"snapshot {s['DBClusterSnapshotIdentifier']} in {acct}")
    clusters = {c["DBClusterIdentifier"] for c in dev_rds.describe_db_clusters()["DBClusters"]}
    out += [f"cluster {c} in dev" for c in sorted(clusters - {"staging"})]
    staging_members = set()
    for c in dev_rds.describe_db_clusters()["DBClusters"]:
        if c["DBClusterIdentifier"] == "staging":
            staging_members = {m["DBInstanceIdentifier"] for m in c["DBClusterMembers"]}
    for i in dev_rds.describe_db_instances()["DBInstances"]:
        if i["DBInstanceIdentifier"] not in staging_members:
            out.append(f"instance {i['DBInstanceIdentifier']} in dev")
    prod_clusters = {c["DBClusterIdentifier"] for c in prod_rds.describe_db_clusters()["DBClusters"]}
    out += [f"cluster {c} in prod" for c in sorted(prod_clusters - {"shop-prod", "shop-prod-cmk", *keep})]
    for i in prod_rds.describe_db_instances()["DBInstances"]:
        if i["DBInstanceIdentifier"] not in ("shop-prod-1", "shop-prod-cmk-1", *(f"{k}-1" for k in keep)):
            out.append(f"instance {i['DBInstanceIdentifier']} in prod")
    out += [f"secret {s['Name']} in prod" for s in seed.client("secretsmanager", url, PROD).list_secrets()["SecretList"]
            if s["Name"].startswith("kirikae/")]
    ram = seed.client("ram", url, PROD)
    for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]:
        if s["status"] not in ("DELETED", "DELETING"):
            out.append(f"ram share {s['name']} in prod")
    secrets = [s["Name"] for s in seed.client("secretsmanager", url, DEV).list_secrets()["SecretList"]
               if s["Name"].startswith("kirikae/")]
    if len(secrets) > 1:
        out.append(f"secrets {secrets} in dev (one serves staging)")
    return out


def probe(url, out_file, stop_file):
    with open(out_file, "w") as out:
        while not os.path.exists(stop_file):
            t = time.time()
            rec = {"t": t}
            try:
                rec.update(row(url, "staging"))
                rec["ok"] = True
            except Exception as e:  # noqa: BLE001 - every failure is a failed probe
                rec["ok"] = False
                rec["error"] = f"{type(e).__name__}: {e}"[:200]
            out.write(json.dumps(rec) + "\n")
            out.flush()
            time.sleep(max(0.0, 0.2 - (time.time() - t)))


def drop_dev_from_policy(url, key):
    kms = seed.client("kms", url, PROD)
    arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    from kirikae_emulator import refresh_seed
    kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=refresh_seed.key_policy(PROD, []))


def zone(url, name):
    r53 = seed.client("route53", url, DEV)
    return r53.create_hosted_zone(Name=name, CallerReference=f"kirikae-test-{time.time()}")["HostedZone"]["Id"].split("/")[-1]


def clusters(url):
    rds = seed.client("rds", url, DEV)
    return [{"id": c["DBClusterIdentifier"], "tags": {t["Key"]: t["Value"] for t in c.get("TagList", [])},
             "endpoint": c.get("Endpoint"), "port": c.get("Port")}
            for c in rds.describe_db_clusters()["DBClusters"]]


def cname(url, zone_id, name):
    r53 = seed.client("route53", url, DEV)
    for r in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        if r["Type"] == "CNAME" and r["Name"].rstrip(".") == name.rstrip("."):
            return r["ResourceRecords"][0]["Value"]
    return None


def other_vpc_sg(url):
    ec2 = seed.client("ec2", url, DEV)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_security_group(GroupName="elsewhere", Description="another VPC", VpcId=vpc)["GroupId"]


def set_cname(url, zone_id, name, value):
    seed.client("route53", url, DEV).change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": name, "Type": "CNAME", "TTL": 60,
                                                  "ResourceRecords": [{"Value": value}]}}]})


def set_password(url, cluster_id, password):
    seed.client("rds", url, DEV).modify_db_cluster(DBClusterIdentifier=cluster_id, MasterUserPassword=password,
                                                   ApplyImmediately=True)


def prod_tags(url, cluster_id):
    rds = seed.client("rds", url, PROD)
    c = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    return {t["Key"]: t["Value"] for t in c.get("TagList", [])}


def _psql(cluster: dict, password: str, sql: str) -> None:
    import subprocess
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    host, port = _where(cluster)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", str(port),
                    "-U", cluster["MasterUsername"], "-d", cluster["DatabaseName"]],
                   input=sql, text=True, env=env, check=True, capture_output=True)


def _pg_cluster(rds, cluster_id: str, password: str, kms_key, subnet_group=None) -> dict:
    args = dict(DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", MasterUsername="shop_admin",
                MasterUserPassword=password, DatabaseName="shop", StorageEncrypted=True, KmsKeyId=kms_key)
    if subnet_group:
        args["DBSubnetGroupName"] = subnet_group
    rds.create_db_cluster(**args)
    rds.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-1", DBClusterIdentifier=cluster_id,
                           Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    return rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]


def pg_world(url):
    from kirikae_emulator import refresh_seed, story_data
    prod = seed.client("rds", url, PROD)
    c = _pg_cluster(prod, "shop-pg", seed.MASTER_PASSWORD, "alias/shop-prod-data")
    _psql(c, seed.MASTER_PASSWORD, story_data.script(dialect="postgresql"))
    dev = seed.client("rds", url, DEV)
    old = dev.describe_db_clusters(DBClusterIdentifier="staging")["DBClusters"][0]
    dev.modify_db_cluster(DBClusterIdentifier="staging", DeletionProtection=False, ApplyImmediately=True)
    for m in old["DBClusterMembers"]:
        dev.delete_db_instance(DBInstanceIdentifier=m["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    dev.delete_db_cluster(DBClusterIdentifier="staging", SkipFinalSnapshot=True)
    for _ in range(100):
        if not [x for x in dev.describe_db_clusters()["DBClusters"] if x["DBClusterIdentifier"] == "staging"]:
            break
        time.sleep(0.2)
    staging = _pg_cluster(dev, "staging", refresh_seed.STAGING_PASSWORD, "alias/staging", "staging-db")
    schema = story_data.script(members=1, dialect="postgresql").split("INSERT INTO")[0]
    _psql(staging, refresh_seed.STAGING_PASSWORD, schema)
    secret = seed.client("secretsmanager", url, DEV).describe_secret(SecretId="staging/master")["ARN"]
    dev.add_tags_to_resource(ResourceName=staging["DBClusterArn"], Tags=[{"Key": "kirikae:secret", "Value": secret}])


def pg_row(url, cluster_id):
    import pg8000.dbapi
    rds = seed.client("rds", url, DEV)
    c = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    tags = {t["Key"]: t["Value"] for t in c.get("TagList", [])}
    secret = json.loads(seed.client("secretsmanager", url, DEV).get_secret_value(
        SecretId=tags["kirikae:secret"])["SecretString"])
    host, port = _where(c)
    conn = pg8000.dbapi.connect(host=host, port=port, user=c["MasterUsername"],
                                password=secret["password"], database=c["DatabaseName"], timeout=10)
    try:
        cur = conn.cursor()
        cur.execute("SELECT name, email FROM members WHERE id = 1")
        r = cur.fetchone()
        return {"name": r[0], "email": r[1]}
    finally:
        conn.close()


def prod_tag(url, cluster_id, key, value):
    rds = seed.client("rds", url, PROD)
    arn = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["DBClusterArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": key, "Value": value}])


if __name__ == "__main__":
    cmd, url = sys.argv[1], sys.argv[2]
    _URL = url
    if cmd == "row":
        print(json.dumps(row(url, sys.argv[3])))
    elif cmd == "prod-exec":
        prod_exec(url, sys.argv[3], sys.argv[4])
    elif cmd == "prod-row":
        print(json.dumps(prod_row(url, sys.argv[3])))
    elif cmd == "leftovers":
        print(json.dumps(leftovers(url, sys.argv[3:])))
    elif cmd == "pg-world":
        pg_world(url)
    elif cmd == "pg-row":
        print(json.dumps(pg_row(url, sys.argv[3])))
    elif cmd == "probe":
        probe(url, sys.argv[3], sys.argv[4])
    elif cmd == "zone":
        print(zone(url, sys.argv[3]))
    elif cmd == "clusters":
        print(json.dumps(clusters(url)))
    elif cmd == "cname":
        print(json.dumps(cname(url, sys.argv[3], sys.argv[4])))
    elif cmd == "other-vpc-sg":
        print(other_vpc_sg(url))
    elif cmd == "set-cname":
        set_cname(url, sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "prod-tags":
        print(json.dumps(prod_tags(url, sys.argv[3])))
    elif cmd == "prod-tag":
        prod_tag(url, sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "set-password":
        set_password(url, sys.argv[3], sys.argv[4])
    elif cmd == "drop-dev-from-policy":
        drop_dev_from_policy(url, sys.argv[3])
