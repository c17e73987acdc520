"""scripts/db as the project's scripts and a person use it: a private MariaDB + PostgreSQL pair in
its own instance directory (here a temporary one, started with --require-tls), idempotent start,
TLS from the checkout's CA, and a stop that really stops."""

from __future__ import annotations

import os
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pg8000.dbapi
import pymysql
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "db"
EMULATED_NAME = "shop-prod.cluster-kirikae.ap-northeast-1.rds.amazonaws.com"


def db(instance: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, KIRIKAE_DB_DIR=str(instance))
    out = subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=180)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def pg_tls(port: int, ca: str, name: str) -> str:
    """PostgreSQL's SSLRequest, then a TLS handshake that verifies `name` against the CA; returns
    the TLS version."""
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))
        assert raw.recv(1) == b"S", "the server does not offer TLS"
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return tls.version()


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    instance = tmp_path_factory.mktemp("db") / "i"  # short: MariaDB's socket lives there
    t0 = time.monotonic()
    first = db(instance, "start", "--require-tls")
    yield instance, lines(first.stdout), time.monotonic() - t0
    db(instance, "stop", check=False)


def test_start_prints_where_the_servers_are_and_writes_it_down(tls_pair):
    instance, env, _ = tls_pair
    assert set(env) == {"KIRIKAE_TEST_MYSQL", "KIRIKAE_TEST_PG", "KIRIKAE_TEST_CA"}
    assert env["KIRIKAE_TEST_MYSQL"].startswith("mysql://root@127.0.0.1:")
    assert env["KIRIKAE_TEST_PG"].startswith("postgres://postgres@127.0.0.1:")
    assert {port_of(env["KIRIKAE_TEST_MYSQL"]), port_of(env["KIRIKAE_TEST_PG"])}.isdisjoint({3306, 5432})
    assert env["KIRIKAE_TEST_CA"] == str(REPO / ".kirikae-local" / "tls" / "ca.pem")
    assert lines((instance / "env").read_text()) == env
    assert lines(db(instance, "env").stdout) == env


def test_a_second_start_finds_them_running_and_prints_the_same(tls_pair):
    instance, env, first_took = tls_pair
    t0 = time.monotonic()
    again = db(instance, "start", "--require-tls")
    took = time.monotonic() - t0
    assert lines(again.stdout) == env
    assert "started" not in again.stderr
    assert took < first_took and took < 5, (took, first_took)


def test_require_tls_refuses_plain_connections_and_verifies_with_the_checkouts_ca(tls_pair):
    _, env, _ = tls_pair
    my, pg, ca = port_of(env["KIRIKAE_TEST_MYSQL"]), port_of(env["KIRIKAE_TEST_PG"]), env["KIRIKAE_TEST_CA"]
    # (MariaDB 10.11 answers a plain connection under require_secure_transport with 1045,
    # "Access denied", not with a word about TLS)
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host="127.0.0.1", port=my, user="root", password="", ssl_disabled=True)
    conn = pymysql.connect(host="127.0.0.1", port=my, user="root", password="",
                           ssl={"ca": ca, "check_hostname": True})
    cur = conn.cursor()
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
    assert cur.fetchone()[1].startswith("TLS")
    conn.close()

    with pytest.raises(pg8000.dbapi.DatabaseError, match="no encryption"):
        pg8000.dbapi.connect(host="127.0.0.1", port=pg, user="postgres", database="postgres", ssl_context=False)
    assert pg_tls(pg, ca, "127.0.0.1").startswith("TLS")
    # the certificate carries the emulated RDS endpoint names (the TLS tests of issue 14 use them)
    assert pg_tls(pg, ca, EMULATED_NAME).startswith("TLS")
    with pytest.raises(ssl.SSLCertVerificationError):
        pg_tls(pg, ca, "db.example.com")


def test_as_root_the_servers_run_in_their_own_user_namespace(tls_pair):
    if os.geteuid() != 0:
        pytest.skip("only root's servers run in a user namespace")
    instance, _, _ = tls_pair
    pid = int((instance / "postgres" / "postmaster.pid").read_text().split()[0])
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    # and the files stay root's
    assert (instance / "postgres" / "PG_VERSION").stat().st_uid == 0


def _served_certificate(port: int, ca: str, mysql: bool) -> bytes:
    """The DER certificate a running server presents (PostgreSQL's SSLRequest or MariaDB's)."""
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        if mysql:
            length = int.from_bytes(raw.recv(4)[:3], "little")
            got = b""
            while len(got) < length:
                got += raw.recv(length - len(got))
            payload = struct.pack("<IIB23s", 0x1 | 0x200 | 0x800 | 0x8000, 1 << 24, 45, b"\0" * 23)
            raw.sendall(len(payload).to_bytes(3, "little") + b"\x01" + payload)
        else:
            raw.sendall(struct.pack("!ii", 8, 80877103))
            assert raw.recv(1) == b"S"
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def test_a_changed_name_list_reissues_the_certificate_and_running_servers_reload_it(tls_pair):
    """An old checkout's certificate (another name list in its stamp) is replaced at the next
    start, and servers already running present the new one without a restart."""
    instance, env, _ = tls_pair
    tls = REPO / ".kirikae-local" / "tls"
    (tls / "server.san").write_text("DNS:localhost\n")  # as an older scripts/db wrote it
    out = db(instance, "start", "--require-tls")
    assert "issuing the servers' certificate" in out.stderr
    assert lines(out.stdout) == env  # the same servers, not restarted
    new = ssl.PEM_cert_to_DER_cert((tls / "server.pem").read_text())
    ca = env["KIRIKAE_TEST_CA"]
    assert _served_certificate(port_of(env["KIRIKAE_TEST_MYSQL"]), ca, mysql=True) == new
    assert _served_certificate(port_of(env["KIRIKAE_TEST_PG"]), ca, mysql=False) == new
    sans = subprocess.run(["openssl", "x509", "-in", str(tls / "server.pem"), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, check=True).stdout
    from kirikae_emulator import endpoints

    assert all(f"DNS:{name}" in sans for name in endpoints.sans())
    # unchanged list: nothing is re-issued
    assert "issuing" not in db(instance, "start", "--require-tls").stderr


def test_stop_really_stops_and_env_then_says_what_to_run(tmp_path_factory, tls_pair):
    instance, env, _ = tls_pair
    pids = [int((instance / "mariadb.pid").read_text()),
            int((instance / "postgres" / "postmaster.pid").read_text().split()[0])]
    db(instance, "stop")
    assert not any(alive(p) for p in pids)
    assert not (instance / "env").exists()
    out = db(instance, "env", check=False)
    assert out.returncode != 0 and "run scripts/db start" in out.stderr
    status = db(instance, "status", check=False)
    assert status.returncode == 3 and "MariaDB: stopped" in status.stdout
