"""`python -m kirikae_emulator seed story --endpoint URL [--config-out PATH]`: the story's world.

Accounts: jump 100000000000 (IAM user `hanako`: access key + enabled virtual MFA device),
prod 111111111111 and dev 222222222222 (role `ops`, trusted by the jump account's root with
aws:MultiFactorAuthPresent, AdministratorAccess attached; dev also has `readonly`), and in prod
the aurora-mysql cluster `shop-prod` with writer `shop-prod-1`, holding the employees sample.

Bootstrap calls act as each account's root through moto's `x-moto-account-id` header with a
key moto does not know (see sts_iam.resolve_caller). Everything is idempotent on one emulator:
existing users/roles/devices/clusters are reused or refreshed; hanako's old keys and MFA device
are replaced, so the files written are always the ones that work.

Written next to the config (`--config-out`, default <repo>/examples/story/kirikae.toml):
kirikae.toml, credentials (profile [jump], 0600), mfa.secret (hanako's TOTP seed, 0600).

The employees sample is loaded once per dataset version into a template database on the local
MariaDB (`kirikae_tpl_employees_<hash of the dataset files>`, never dropped by an emulator) and
copied into the cluster's database on every seed, through the cluster's endpoint as its master
user, as a user of the real cluster would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .settings import EmulatorSettings
from .totp import totp

REGION = "ap-northeast-1"
JUMP, PROD, DEV = "100000000000", "111111111111", "222222222222"
USER = "hanako"
CLUSTER, WRITER = "shop-prod", "shop-prod-1"
MASTER_PASSWORD = "kirikae-story-prod"  # a local emulator's fake secret, printed in the summary
BOOTSTRAP_KEY = "AKIAKIRIKAEBOOTSTRAP"  # unknown to moto: acts as root of x-moto-account-id
REPO = Path(__file__).resolve().parents[2]
DATASET = "employees/test_db-subset10k"
TABLES = ["departments", "employees", "dept_emp", "dept_manager", "titles", "salaries"]
EXPECTED_ROWS = {"departments": 9, "employees": 10000, "dept_emp": 11051, "dept_manager": 24,
                 "titles": 14782, "salaries": 94917}


def trust_policy(account: str = JUMP) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }],
    })


def client(service: str, endpoint: str, account: str):
    c = boto3.client(
        service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id=BOOTSTRAP_KEY,
        aws_secret_access_key="kirikae-bootstrap-secret-not-a-real-key0",
        config=Config(retries={"total_max_attempts": 5, "mode": "standard"}),
    )

    def as_account(request, **_):
        request.headers["x-moto-account-id"] = account

    c.meta.events.register("before-sign", as_account)
    return c


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


# --- IAM ---------------------------------------------------------------------------------------
def seed_jump_user(endpoint: str) -> tuple[dict, str, str]:
    """hanako with a fresh access key and a fresh enabled virtual MFA device."""
    iam = client("iam", endpoint, JUMP)
    try:
        iam.create_user(UserName=USER)
    except ClientError as e:
        if _code(e) != "EntityAlreadyExists":
            raise
    for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"])
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    serial = f"arn:aws:iam::{JUMP}:mfa/{USER}"
    for dev in iam.list_mfa_devices(UserName=USER)["MFADevices"]:
        iam.deactivate_mfa_device(UserName=USER, SerialNumber=dev["SerialNumber"])
    try:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    except ClientError as e:
        if _code(e) != "NoSuchEntity":
            raise
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=USER)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode() if isinstance(seed, bytes) else seed
    now = time.time()
    iam.enable_mfa_device(UserName=USER, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp(seed, now - 30), AuthenticationCode2=totp(seed, now))
    return key, device["SerialNumber"], seed


def seed_role(endpoint: str, account: str, name: str, policy_arn: str) -> str:
    iam = client("iam", endpoint, account)
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(),
                              MaxSessionDuration=3600)["Role"]["Arn"]
    except ClientError as e:
        if _code(e) != "EntityAlreadyExists":
            raise
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust_policy())
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    if policy_arn not in attached:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return arn


# --- RDS + data --------------------------------------------------------------------------------
def seed_cluster(endpoint: str) -> dict:
    rds = client("rds", endpoint, PROD)
    # moto 5.2.5 would silently replace an existing cluster on CreateDBCluster: look first.
    existing = [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
    if CLUSTER in existing:
        # a rerun: make sure the password is the one this seed prints
        rds.modify_db_cluster(DBClusterIdentifier=CLUSTER, MasterUserPassword=MASTER_PASSWORD, ApplyImmediately=True)
    else:
        rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
            MasterUsername="admin", MasterUserPassword=MASTER_PASSWORD, DatabaseName="shop",
            StorageEncrypted=True, DeletionProtection=True, BackupRetentionPeriod=7,
            Tags=[{"Key": "env", "Value": "prod"}, {"Key": "app", "Value": "shop"}],
        )
    try:
        rds.create_db_instance(
            DBInstanceIdentifier=WRITER, DBClusterIdentifier=CLUSTER, Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large", Tags=[{"Key": "env", "Value": "prod"}, {"Key": "app", "Value": "shop"}],
        )
    except ClientError as e:
        if _code(e) != "DBInstanceAlreadyExists":
            raise
    return rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]


def datasets_dir() -> Path:
    env = os.environ.get("KIRIKAE_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


@dataclass
class Target:
    host: str
    port: int
    user: str
    password: str
    database: str


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def _mysql_tool(*names: str) -> str:
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    raise SystemExit(f"seed: none of {', '.join(names)} is on PATH (Debian: apt-get install mariadb-client)")


def _dataset_files(folder: Path) -> list[Path]:
    main = folder / "employees.sql"
    if not main.is_file():
        raise SystemExit(f"seed: the employees sample is missing: {main} (set KIRIKAE_DATASETS to the datasets folder)")
    sources = re.findall(r"^\s*source\s+(\S+?)\s*;", main.read_text(), flags=re.M)
    return [main] + [folder / s for s in sources if s.startswith("load_")]


def template_name(folder: Path) -> str:
    h = hashlib.sha256()
    for f in _dataset_files(folder):
        h.update(f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return f"kirikae_tpl_employees_{h.hexdigest()[:12]}"


def _template_sql(folder: Path, name: str) -> bytes:
    """employees.sql with the database renamed, the dumps inlined and server-wide statements
    (FLUSH LOGS, the elapsed-time report) left out."""
    out: list[bytes] = []
    for line in (folder / "employees.sql").read_text().splitlines(keepends=True):
        stripped = line.strip()
        m = re.match(r"source\s+(\S+?)\s*;", stripped)
        if m:
            if m.group(1).startswith("load_"):
                out.append((folder / m.group(1)).read_bytes() + b"\n")
            continue
        if re.match(r"(DROP DATABASE IF EXISTS|CREATE DATABASE IF NOT EXISTS|USE)\s+employees\s*;", stripped):
            line = line.replace("employees", f"`{name}`", 1)
        elif stripped.lower().startswith("flush "):
            continue
        out.append(line.encode())
    return b"".join(out)


def _admin():
    import pymysql

    s = EmulatorSettings()
    s.require_server("mysql")
    return s, pymysql.connect(host=s.mysql_host, port=s.mysql_port, user=s.mysql_user, password=s.mysql_password,
                              autocommit=True, charset="utf8mb4")


def ensure_template(folder: Path) -> str:
    """The cached template database (loaded once per dataset version; a lock serialises
    concurrent seeds; a half-loaded template from a crash is reloaded)."""
    name = template_name(folder)
    s, conn = _admin()
    try:
        cur = conn.cursor()
        cur.execute("SELECT GET_LOCK(%s, 600)", (name,))
        if cur.fetchone()[0] != 1:
            raise SystemExit(f"seed: timed out waiting for another seed to load {name}")
        cur.execute("SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        row = cur.fetchone()
        if row is None or row[0] != "kirikae template: complete":
            env = dict(os.environ, MYSQL_PWD=s.mysql_password)
            proc = subprocess.run(
                [_mysql_tool("mariadb", "mysql"), "-h", s.mysql_host, "-P", str(s.mysql_port), "-u", s.mysql_user,
                 "--protocol=TCP", "--default-character-set=utf8mb4"],
                input=_template_sql(folder, name), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
            )
            if proc.returncode != 0:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                raise SystemExit(f"seed: loading the employees sample failed: {proc.stderr.decode(errors='replace')}")
            cur.execute(f"ALTER DATABASE `{name}` COMMENT 'kirikae template: complete'")
        cur.execute("SELECT RELEASE_LOCK(%s)", (name,))
    finally:
        conn.close()
    return name


_DEFINER = re.compile(rb"/\*!50013 DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*` SQL SECURITY DEFINER \*/|DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`")


def load_story_data(target: Target, folder: Path | None = None) -> dict[str, int]:
    """Copy the employees sample into the cluster's database through its endpoint, as its master
    user (tables are replaced, so a rerun leaves the same data). Returns rows per table."""
    folder = folder or datasets_dir() / DATASET
    template = ensure_template(folder)
    s = EmulatorSettings()
    admin = ["-h", s.mysql_host, "-P", str(s.mysql_port), "-u", s.mysql_user, "--protocol=TCP"]
    dump = subprocess.Popen(
        [_mysql_tool("mariadb-dump", "mysqldump"), *admin, "--single-transaction", "--skip-comments",
         "--no-create-db", "--skip-lock-tables", "--hex-blob", "--default-character-set=utf8mb4", template],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, MYSQL_PWD=s.mysql_password),
    )
    load = subprocess.Popen(
        [_mysql_tool("mariadb", "mysql"), "-h", target.host, "-P", str(target.port), "-u", target.user,
         "--protocol=TCP", "--default-character-set=utf8mb4", target.database],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=dict(os.environ, MYSQL_PWD=target.password),
    )
    assert dump.stdout is not None and load.stdin is not None
    # views are created by the master user itself: no DEFINER naming the server's root
    for line in dump.stdout:
        if b"DEFINER" in line and not line.startswith(b"INSERT INTO"):
            line = _DEFINER.sub(b"", line)
        load.stdin.write(line)
    load.stdin.close()
    dump_err = dump.stderr.read() if dump.stderr else b""
    load_err = load.stderr.read() if load.stderr else b""
    if dump.wait() != 0 or load.wait() != 0:
        raise SystemExit(f"seed: copying {template} into {CLUSTER} failed: "
                         f"{dump_err.decode(errors='replace')}{load_err.decode(errors='replace')}")
    return count_rows(target)


def count_rows(target: Target) -> dict[str, int]:
    import pymysql

    conn = pymysql.connect(host=target.host, port=target.port, user=target.user, password=target.password,
                           database=target.database, autocommit=True)
    try:
        cur = conn.cursor()
        counts = {}
        for table in TABLES:
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            counts[table] = cur.fetchone()[0]
        return counts
    finally:
        conn.close()


# --- files -------------------------------------------------------------------------------------
def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def mfa_command(secret_file: Path) -> str:
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        python = Path(sys.executable)
    pythonpath = REPO / "emulator"
    return (f"PYTHONPATH={shlex.quote(str(pythonpath))} {shlex.quote(str(python))} -m kirikae_emulator totp "
            f"{shlex.quote(str(secret_file))}")


def render_config(endpoint: str, serial: str, secret_file: Path, refresh: str = "") -> str:
    return f"""# Written by `scripts/emulator seed story`: the story's world on the local emulator.
[aws]
region = {_toml_str(REGION)}
endpoint_url = {_toml_str(endpoint)}

[jump]
profile = "jump"
credentials_file = "credentials"
mfa_serial = {_toml_str(serial)}
mfa_command = {_toml_str(mfa_command(secret_file))}

[state]
dir = "state"

[accounts.prod]
id = "{PROD}"
role = "ops"
alias = "shop-prod"
protected = true

[accounts.dev]
id = "{DEV}"
role = "ops"
alias = "shop-dev"
""" + refresh


def write_files(config_out: Path, endpoint: str, key: dict, serial: str, seed: str,
                refresh: str = "") -> dict[str, Path]:
    directory = config_out.parent
    directory.mkdir(parents=True, exist_ok=True)
    secret_file = directory / "mfa.secret"
    credentials = directory / "credentials"
    _write_private(secret_file, seed + "\n")
    _write_private(credentials, (
        "# Written by `scripts/emulator seed story`: hanako's key in the jump account (local emulator only).\n"
        "[jump]\n"
        f"aws_access_key_id = {key['AccessKeyId']}\n"
        f"aws_secret_access_key = {key['SecretAccessKey']}\n"
    ))
    tmp = config_out.with_name(config_out.name + ".tmp")
    tmp.write_text(render_config(endpoint, serial, secret_file.resolve(), refresh), encoding="utf-8")
    tmp.replace(config_out)
    return {"config": config_out, "credentials": credentials, "mfa_secret": secret_file}


# --- main --------------------------------------------------------------------------------------
def seed_story(endpoint: str, config_out: Path, load_data: bool = True) -> dict:
    endpoint = endpoint.rstrip("/")
    key, serial, seed = seed_jump_user(endpoint)
    roles = {
        "prod": [seed_role(endpoint, PROD, "ops", "arn:aws:iam::aws:policy/AdministratorAccess")],
        "dev": [seed_role(endpoint, DEV, "ops", "arn:aws:iam::aws:policy/AdministratorAccess"),
                seed_role(endpoint, DEV, "readonly", "arn:aws:iam::aws:policy/ReadOnlyAccess")],
    }
    cluster = seed_cluster(endpoint)
    target = Target(cluster["Endpoint"], int(cluster["Port"]), cluster["MasterUsername"], MASTER_PASSWORD,
                    cluster.get("DatabaseName") or "")
    rows: dict[str, int] | None = None
    data_note = ""
    if not _is_loopback(target.host):
        data_note = (f"the emulator has no RDS data plane (endpoint {target.host}): "
                     "the cluster exists in the control plane only, without data")
    elif load_data:
        rows = load_story_data(target)
    refresh = ""
    if rows is not None:
        from . import refresh_seed

        world = refresh_seed.seed(client, endpoint)
        refresh = refresh_seed.render_config(world["dev"], str(REPO / "examples" / "masking" / "employees.toml"))
    files = write_files(config_out, endpoint, key, serial, seed, refresh)
    return {"endpoint": endpoint, "key": key["AccessKeyId"], "serial": serial, "roles": roles,
            "cluster": cluster, "target": target, "rows": rows, "data_note": data_note, "files": files}


def summary(result: dict) -> str:
    t: Target = result["target"]
    lines = [
        f"Seeded the story on {result['endpoint']} (region {REGION}):",
        f"  jump  {JUMP}  user {USER} (key {result['key']}, MFA {result['serial']})",
        f"  prod  {PROD}  role ops (AdministratorAccess; trust: jump root + MFA)   alias shop-prod, protected",
        f"  dev   {DEV}  roles ops (AdministratorAccess), readonly (ReadOnlyAccess)   alias shop-dev",
        f"  cluster {CLUSTER} (aurora-mysql, writer {WRITER}) in prod: "
        f"{t.host}:{t.port} database {t.database} user {t.user} password {t.password}",
    ]
    if result["rows"]:
        lines.append("  rows: " + ", ".join(f"{k} {v}" for k, v in result["rows"].items()))
    if result["data_note"]:
        lines.append(f"  note: {result['data_note']}")
    files = result["files"]
    lines.append(f"  credentials {files['credentials']} (profile jump), MFA secret {files['mfa_secret']}")
    lines.append(f"config: {files['config']}")
    return "\n".join(lines)


def main(args) -> int:
    from .server import LOOPBACK_HOSTS

    from urllib.parse import urlparse

    host = urlparse(args.endpoint).hostname or ""
    if host not in LOOPBACK_HOSTS:
        print(f"seed: refusing endpoint {args.endpoint}: only a local emulator on loopback is seeded", file=sys.stderr)
        return 2
    config_out = Path(args.config_out) if args.config_out else REPO / "examples" / "story" / "kirikae.toml"
    config_out = config_out.absolute()
    try:
        result = seed_story(args.endpoint, config_out)
    except ClientError as e:
        print(f"seed: the emulator refused a call: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"seed: {e}", file=sys.stderr)
        return 1
    if getattr(args, "quiet", False):
        print(f"config: {result['files']['config']}")
    else:
        print(summary(result), flush=True)
    return 0
