"""Realistic endpoints (`serve --endpoints realistic`): clusters and instances report AWS's names
and the engine's port; only the bastion (a tunnel command) reaches them, with TLS verifying the
cluster's real name end to end."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
from pathlib import Path

import pg8000.dbapi
import pymysql
import pytest
import requests

from kirikae_emulator import endpoints
from rds_support import (  # noqa: F401 - fixtures
    DEV, PASSWORD, PROD, REGION, _nothing_left_behind, create_cluster, describe, dev, prod, rds,
)

REPO = Path(__file__).resolve().parents[2]
CA = os.environ.get("KIRIKAE_TEST_CA") or str(REPO / ".kirikae-local" / "tls" / "ca.pem")


@pytest.fixture
def realistic(emulator_settings):
    emulator_settings.endpoints = "realistic"
    yield
    emulator_settings.endpoints = "loopback"


def _resolve(endpoint, name, port=None):
    params = {"name": name, **({"port": port} if port is not None else {})}
    return requests.get(f"{endpoint}/_kirikae/resolve", params=params, timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bastion:
    """`python -m kirikae_emulator bastion` as a tunnel command, as kirikae starts it."""

    def __init__(self, endpoint: str, host: str, port: int, via_env: bool = False):
        self.local_port = _free_port()
        args = [sys.executable, "-m", "kirikae_emulator", "bastion"]
        env = dict(os.environ, PYTHONPATH=str(REPO / "emulator"))
        env.pop("KIRIKAE_EMULATOR_URL", None)
        env.pop("AWS_ENDPOINT_URL", None)
        if via_env:
            env["KIRIKAE_EMULATOR_URL"] = endpoint
        else:
            args += ["--endpoint-url", endpoint]
        self.proc = subprocess.Popen([*args, host, str(port), str(self.local_port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.local_port), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.proc.stderr.read()
                time.sleep(0.05)
        raise AssertionError("the bastion did not listen within 15 s")

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return code, self.proc.stderr.read()


@pytest.fixture
def bastions():
    started: list[Bastion] = []

    def start(*args, **kw) -> Bastion:
        b = Bastion(*args, **kw)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


def _pg_tls(port: int, name: str) -> dict:
    """PostgreSQL's SSLRequest through 127.0.0.1:port, then a TLS handshake verifying `name`."""
    ctx = ssl.create_default_context(cafile=CA)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))
        assert raw.recv(1) == b"S", "the server does not offer TLS"
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert()


def _mysql_tls(port: int, name: str) -> dict:
    """MariaDB's greeting, an SSL request packet, then a TLS handshake verifying `name`."""
    ctx = ssl.create_default_context(cafile=CA)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        header = raw.recv(4)
        length = int.from_bytes(header[:3], "little")
        greeting = b""
        while len(greeting) < length:
            greeting += raw.recv(length - len(greeting))
        caps = 0x1 | 0x200 | 0x800 | 0x8000  # LONG_PASSWORD | PROTOCOL_41 | SSL | SECURE_CONNECTION
        payload = struct.pack("<IIB23s", caps, 1 << 24, 45, b"\0" * 23)
        raw.sendall(len(payload).to_bytes(3, "little") + b"\x01" + payload)
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert()


# --------------------------------------------------------------------------- the names


def test_the_endpoint_id_is_rds_shaped_fixed_per_account_and_region_and_distinct():
    ids = {(a, r): endpoints.endpoint_id(a, r) for a in endpoints.KNOWN_ACCOUNTS for r in endpoints.KNOWN_REGIONS}
    assert all(re.fullmatch(r"[a-z][a-z0-9]{11}", i) for i in ids.values()), ids
    assert len(set(ids.values())) == len(ids)
    assert endpoints.endpoint_id(PROD, REGION) == endpoints.endpoint_id(PROD, REGION)
    out = subprocess.run([sys.executable, "-m", "kirikae_emulator", "endpoint-id", PROD, REGION], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(REPO / "emulator")), check=True)
    assert out.stdout.strip() == endpoints.endpoint_id(PROD, REGION)


def test_clusters_report_aws_names_and_the_engines_port(realistic, rds, client_factory):
    prod, dev = rds(PROD), rds(DEV)
    create_cluster(prod, "shop")
    create_cluster(dev, "shop")
    create_cluster(prod, "orders", engine="aurora-postgresql")
    prod.create_db_instance(DBInstanceIdentifier="shop-1", DBClusterIdentifier="shop", Engine="aurora-mysql",
                            DBInstanceClass="db.t4g.medium")
    p_id, d_id = endpoints.endpoint_id(PROD, REGION), endpoints.endpoint_id(DEV, REGION)
    c = describe(prod, "shop")
    assert (c["Endpoint"], c["ReaderEndpoint"], c["Port"]) == (
        f"shop.cluster-{p_id}.{REGION}.rds.amazonaws.com", f"shop.cluster-ro-{p_id}.{REGION}.rds.amazonaws.com", 3306)
    # the same cluster name in another account is another name
    assert describe(dev, "shop")["Endpoint"] == f"shop.cluster-{d_id}.{REGION}.rds.amazonaws.com"
    assert (describe(prod, "orders")["Endpoint"], describe(prod, "orders")["Port"]) == (
        f"orders.cluster-{p_id}.{REGION}.rds.amazonaws.com", 5432)
    inst = prod.describe_db_instances(DBInstanceIdentifier="shop-1")["DBInstances"][0]
    assert inst["Endpoint"] == {"Address": f"shop-1.{p_id}.{REGION}.rds.amazonaws.com", "Port": 3306}


def test_a_requested_port_is_reported(realistic, prod):
    create_cluster(prod, "shop", Port=3307)
    assert describe(prod, "shop")["Port"] == 3307


def test_resolve_says_where_each_name_lives_and_refuses_what_does_not_exist(realistic, endpoint, prod,
                                                                           emulator_settings):
    create_cluster(prod, "shop")
    create_cluster(prod, "orders", engine="aurora-postgresql")
    prod.create_db_instance(DBInstanceIdentifier="shop-1", DBClusterIdentifier="shop", Engine="aurora-mysql",
                            DBInstanceClass="db.t4g.medium")
    shop = describe(prod, "shop")
    my = (emulator_settings.mysql_host, emulator_settings.mysql_port)
    for name in (shop["Endpoint"], shop["ReaderEndpoint"], shop["Endpoint"].upper(),
                 prod.describe_db_instances(DBInstanceIdentifier="shop-1")["DBInstances"][0]["Endpoint"]["Address"]):
        r = _resolve(endpoint, name, 3306)
        assert r.status_code == 200, r.text
        assert (r.json()["host"], r.json()["port"], r.json()["cluster"], r.json()["account"]) == (*my, "shop", PROD)
    r = _resolve(endpoint, describe(prod, "orders")["Endpoint"], 5432)
    assert (r.json()["host"], r.json()["port"]) == (emulator_settings.pg_host, emulator_settings.pg_port)
    wrong_port = _resolve(endpoint, shop["Endpoint"], 5432)
    assert wrong_port.status_code == 404 and "port is 3306" in wrong_port.json()["error"]
    unknown = _resolve(endpoint, shop["Endpoint"].replace("shop.", "nope."), 3306)
    assert unknown.status_code == 404 and "nope." in unknown.json()["error"]
    assert _resolve(endpoint, "").status_code == 400
    prod.delete_db_cluster(DBClusterIdentifier="orders", SkipFinalSnapshot=True)
    assert _resolve(endpoint, describe(prod, "shop")["Endpoint"].replace("shop.", "orders."), 5432).status_code == 404


def test_after_a_rename_the_names_follow_the_identifier(realistic, endpoint, prod):
    """As on AWS: the renamed cluster answers to its new name, and the old name belongs to whichever
    cluster takes it next (what the rename switch-over relies on)."""
    create_cluster(prod, "staging")
    old_name = describe(prod, "staging")["Endpoint"]
    old_db = describe(prod, "staging")["DatabaseName"]
    prod.modify_db_cluster(DBClusterIdentifier="staging", NewDBClusterIdentifier="staging-retired",
                           ApplyImmediately=True)
    retired = describe(prod, "staging-retired")
    assert retired["Endpoint"] == old_name.replace("staging.", "staging-retired.")
    assert _resolve(endpoint, old_name, 3306).status_code == 404
    assert _resolve(endpoint, retired["Endpoint"], 3306).json()["cluster"] == "staging-retired"
    create_cluster(prod, "staging")
    assert describe(prod, "staging")["Endpoint"] == old_name
    assert describe(prod, "staging")["DatabaseName"] != old_db
    assert _resolve(endpoint, old_name, 3306).json()["cluster"] == "staging"


def test_a_cname_record_is_followed_to_the_cluster_it_names(realistic, endpoint, rds, client_factory):
    """The CNAME switch-over's check connects through the record's name: inside the emulated VPC it
    resolves to the cluster it points at, and moves when the record moves."""
    dev = rds(DEV)
    create_cluster(dev, "staging")
    create_cluster(dev, "staging-new")
    r53 = client_factory("route53", account=DEV)
    zone = r53.create_hosted_zone(Name="staging.internal", CallerReference="t")["HostedZone"]["Id"]

    def point(value):
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": "UPSERT", "ResourceRecordSet": {"Name": "db.staging.internal", "Type": "CNAME", "TTL": 60,
                                                       "ResourceRecords": [{"Value": value}]}}]})

    point(describe(dev, "staging")["Endpoint"])
    first = _resolve(endpoint, "db.staging.internal", 3306).json()
    assert (first["cluster"], first["via"]) == ("staging", ["db.staging.internal"])
    point(describe(dev, "staging-new")["Endpoint"])
    assert _resolve(endpoint, "db.staging.internal", 3306).json()["cluster"] == "staging-new"
    assert _resolve(endpoint, "db2.staging.internal", 3306).status_code == 404


def test_loopback_mode_still_reports_the_private_server(prod, emulator_settings):
    create_cluster(prod, "shop")
    c = describe(prod, "shop")
    assert (c["Endpoint"], c["Port"]) == ("127.0.0.1", emulator_settings.mysql_port)


# --------------------------------------------------------------------------- the bastion


def test_the_bastion_forwards_to_the_cluster_on_both_engines(realistic, endpoint, prod, bastions):
    create_cluster(prod, "shop")
    create_cluster(prod, "orders", engine="aurora-postgresql")
    shop, orders = describe(prod, "shop"), describe(prod, "orders")
    b = bastions(endpoint, shop["Endpoint"], shop["Port"])
    conn = pymysql.connect(host="127.0.0.1", port=b.local_port, user=shop["MasterUsername"], password=PASSWORD,
                           database=shop["DatabaseName"], connect_timeout=10)
    cur = conn.cursor()
    cur.execute("SELECT DATABASE()")
    assert cur.fetchone()[0] == shop["DatabaseName"]
    conn.close()
    # the emulator's URL from the environment, as an unattended tunnel command would have it
    b2 = bastions(endpoint, orders["Endpoint"], orders["Port"], via_env=True)
    pg = pg8000.dbapi.connect(host="127.0.0.1", port=b2.local_port, user=orders["MasterUsername"],
                              password=PASSWORD, database=orders["DatabaseName"], ssl_context=None)
    cur = pg.cursor()
    cur.execute("SELECT current_database()")
    assert cur.fetchone()[0] == orders["DatabaseName"]
    pg.close()


def test_tls_through_the_bastion_verifies_the_clusters_real_name(realistic, endpoint, rds, bastions):
    for account in (PROD, DEV):
        create_cluster(rds(account), "shop")
        create_cluster(rds(account), "orders", engine="aurora-postgresql")
        for cluster, handshake in (("shop", _mysql_tls), ("orders", _pg_tls)):
            c = describe(rds(account), cluster)
            b = bastions(endpoint, c["Endpoint"], c["Port"])
            assert handshake(b.local_port, c["Endpoint"])  # verified against the checkout's CA
            assert handshake(b.local_port, c["ReaderEndpoint"])
            # a name the certificate does not carry fails verification through the same tunnel
            with pytest.raises(ssl.SSLCertVerificationError):
                handshake(b.local_port, "db.example.com")


def test_the_certificate_carries_every_emulated_name():
    pem = Path(CA).with_name("server.pem")
    out = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-ext", "subjectAltName"],
                         capture_output=True, text=True, check=True).stdout
    names = set(re.findall(r"DNS:([^,\s]+)", out))
    missing = set(endpoints.sans()) - names
    assert not missing, f"{pem} lacks {sorted(missing)[:3]}...: run scripts/db start (it re-issues the certificate)"
    assert f"*.cluster-{endpoints.endpoint_id(DEV, REGION)}.{REGION}.rds.amazonaws.com" in names
    assert f"*.cluster-{endpoints.endpoint_id('123456789012', 'us-east-1')}.us-east-1.rds.amazonaws.com" in names


def test_an_unknown_or_deleted_name_closes_the_connection_with_a_clear_line(realistic, endpoint, prod, bastions):
    create_cluster(prod, "shop")
    shop = describe(prod, "shop")
    b = bastions(endpoint, shop["Endpoint"], shop["Port"])
    socket.create_connection(("127.0.0.1", b.local_port), timeout=5).close()
    prod.delete_db_cluster(DBClusterIdentifier="shop", SkipFinalSnapshot=True)
    with socket.create_connection(("127.0.0.1", b.local_port), timeout=10) as s:
        s.settimeout(10)
        assert s.recv(100) == b""  # closed, nothing sent
    code, stderr = b.stop()
    assert code == 0
    assert f"{shop['Endpoint']}:3306: no DB cluster or instance is called {shop['Endpoint']}" in stderr
    assert "connection closed" in stderr


def test_the_bastion_stops_on_sigterm_and_sigint_and_refuses_bad_input(endpoint, bastions):
    for sig in (signal.SIGTERM, signal.SIGINT):
        b = bastions(endpoint, "x.cluster-abc.ap-northeast-1.rds.amazonaws.com", 3306)
        t0 = time.monotonic()
        b.proc.send_signal(sig)
        assert b.proc.wait(timeout=5) == 0
        assert time.monotonic() - t0 < 3
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", b.local_port), timeout=1)
    env = {k: v for k, v in os.environ.items() if k not in ("KIRIKAE_EMULATOR_URL", "AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = str(REPO / "emulator")
    out = subprocess.run([sys.executable, "-m", "kirikae_emulator", "bastion", "h", "3306", "0"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--endpoint-url" in out.stderr
    out = subprocess.run([sys.executable, "-m", "kirikae_emulator", "bastion", "--endpoint-url", "http://10.0.0.1:5000",
                          "h", "3306", "0"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "loopback" in out.stderr
    # the stdlib-only script form (any python3)
    out = subprocess.run([sys.executable, str(REPO / "emulator/kirikae_emulator/bastion.py"), "--help"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "LOCAL_PORT" in out.stdout.upper()


def test_an_unreachable_emulator_is_said_per_connection(bastions):
    dead = f"http://127.0.0.1:{_free_port()}"
    b = bastions(dead, "x.cluster-abc.ap-northeast-1.rds.amazonaws.com", 3306)
    with socket.create_connection(("127.0.0.1", b.local_port), timeout=10) as s:
        s.settimeout(15)
        assert s.recv(100) == b""
    code, stderr = b.stop()
    assert code == 0 and f"the emulator at {dead} did not answer" in stderr
