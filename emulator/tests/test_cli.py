"""The command line: `python -m kirikae_emulator serve | totp` and `scripts/emulator start | url |
stop` as a user runs them (subprocesses, a temporary KIRIKAE_EMULATOR_DIR)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pymysql
import pytest
import requests

from kirikae_emulator import extensions
from kirikae_emulator.settings import EmulatorSettings
from kirikae_emulator.totp import totp

EMULATOR = Path(__file__).resolve().parents[1]
REPO = EMULATOR.parent
SCRIPT = REPO / "scripts" / "emulator"
URL_LINE = re.compile(r"^kirikae emulator listening on (http://127\.0\.0\.1:(\d+))$")


def env_with_path(**extra):
    env = dict(os.environ, PYTHONPATH=str(EMULATOR))
    env.update(extra)
    return env


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def rds_client(url, account="111111111111"):
    client = boto3.client("rds", region_name="ap-northeast-1", endpoint_url=url,
                          aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    client.meta.events.register("before-sign",
                                lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    return client


def database_exists(name: str) -> bool:
    s = EmulatorSettings()  # the data plane's MariaDB: the project's private one (scripts/db)
    conn = pymysql.connect(host=s.mysql_host, port=s.mysql_port, user=s.mysql_user, password=s.mysql_password)
    try:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        return cur.fetchone()[0] == 1
    finally:
        conn.close()


# --- serve -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_and_cleans_up_on_signal(sig, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "kirikae_emulator", "serve", "--port", "0"], cwd=tmp_path,
                            env=env_with_path(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        m = URL_LINE.match(line)
        assert m, f"first line was {line!r}"
        url, port = m.group(1), int(m.group(2))
        # it answers right away, as an AWS endpoint
        assert requests.get(f"{url}/_kirikae/faults", timeout=5).json() == {"faults": []}
        sts = boto3.client("sts", region_name="ap-northeast-1", endpoint_url=url,
                           aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
        assert sts.get_caller_identity()["Account"] == "123456789012"
        database = None
        if "rds" in extensions.MODULES:
            rds = rds_client(url)
            rds.create_db_cluster(DBClusterIdentifier="cli-test", Engine="aurora-mysql", MasterUsername="admin",
                                  MasterUserPassword="password1234")
            database = rds.describe_db_clusters()["DBClusters"][0]["DatabaseName"]
            assert database_exists(database)
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
        assert not port_open(port)
        if database:
            assert not database_exists(database), "the shutdown hooks did not drop the cluster's database"
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_non_loopback_hosts(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kirikae_emulator", "serve", "--host", "0.0.0.0"], cwd=tmp_path,
                          env=env_with_path(), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "refusing to listen on 0.0.0.0" in proc.stderr
    assert "listening on" not in proc.stdout


@pytest.mark.parametrize("how", ["flag", "env"])
def test_serve_with_realistic_endpoints_reports_aws_names_and_the_bastion_reaches_them(how, tmp_path):
    args = [sys.executable, "-m", "kirikae_emulator", "serve", "--port", "0"]
    extra = {}
    if how == "flag":
        args += ["--endpoints", "realistic"]
    else:
        extra["KIRIKAE_EMU_ENDPOINTS"] = "realistic"
    proc = subprocess.Popen(args, cwd=tmp_path, env=env_with_path(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = URL_LINE.match(proc.stdout.readline().strip()).group(1)
        rds = rds_client(url)
        rds.create_db_cluster(DBClusterIdentifier="cli-test", Engine="aurora-mysql", MasterUsername="admin",
                              MasterUserPassword="password1234")
        c = rds.describe_db_clusters()["DBClusters"][0]
        assert re.fullmatch(r"cli-test\.cluster-[a-z0-9]{12}\.ap-northeast-1\.rds\.amazonaws\.com", c["Endpoint"])
        assert c["Port"] == 3306
        answer = requests.get(f"{url}/_kirikae/resolve", params={"name": c["Endpoint"], "port": 3306}, timeout=5).json()
        assert answer["port"] == EmulatorSettings().mysql_port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_serve_refuses_a_bad_endpoints_mode(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kirikae_emulator", "serve"], cwd=tmp_path,
                          env=env_with_path(KIRIKAE_EMU_ENDPOINTS="real"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "endpoints mode 'real': expected one of loopback, realistic" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "kirikae_emulator", "serve", "--endpoints", "real"], cwd=tmp_path,
                          env=env_with_path(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


# --- totp --------------------------------------------------------------------------------------
RFC6238_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"


@pytest.mark.parametrize("at,code", [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"),
                                     (2000000000, "279037")])
def test_totp_matches_rfc6238_vectors(at, code):
    assert totp(RFC6238_SECRET, at) == code


def test_totp_command_prints_the_current_code(tmp_path):
    secret = tmp_path / "mfa.secret"
    secret.write_text(RFC6238_SECRET.lower() + "\n")
    before = totp(RFC6238_SECRET)
    proc = subprocess.run([sys.executable, "-m", "kirikae_emulator", "totp", str(secret)], env=env_with_path(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() in {before, totp(RFC6238_SECRET)}
    assert re.fullmatch(r"\d{6}\n", proc.stdout)


def test_totp_command_reports_a_bad_file(tmp_path):
    bad = tmp_path / "bad.secret"
    bad.write_text("not base32 at all!\n")
    for path in (bad, tmp_path / "missing.secret"):
        proc = subprocess.run([sys.executable, "-m", "kirikae_emulator", "totp", str(path)], env=env_with_path(),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        assert str(path) in proc.stderr and proc.stdout == ""


# --- scripts/emulator --------------------------------------------------------------------------
def script(*args, state_dir, timeout=120):
    return subprocess.run([str(SCRIPT), *args], env=dict(os.environ, KIRIKAE_EMULATOR_DIR=str(state_dir)),
                          capture_output=True, text=True, timeout=timeout, cwd="/")


def test_script_start_url_stop(tmp_path):
    state = tmp_path / "emu"
    started = script("start", state_dir=state)
    try:
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip().splitlines()[-1]
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", url)
        assert m, started.stdout
        port = int(m.group(1))
        pid = int((state / "pid").read_text())
        assert requests.get(f"{url}/_kirikae/faults", timeout=5).status_code == 200
        # a second start finds the running one
        again = script("start", state_dir=state)
        assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == url
        assert "already running" in again.stderr
        shown = script("url", state_dir=state)
        assert (shown.returncode, shown.stdout.strip()) == (0, url)
        assert (state / "log").exists()
    finally:
        stopped = script("stop", state_dir=state)
    assert stopped.returncode == 0, stopped.stderr
    assert not port_open(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (state / "pid").exists() and not (state / "url").exists()
    gone = script("url", state_dir=state)
    assert gone.returncode != 0 and "not running" in gone.stderr
    # stopping again is harmless
    assert script("stop", state_dir=state).returncode == 0


def test_script_seed_uses_the_running_instance(tmp_path):
    state = tmp_path / "emu"
    started = script("start", state_dir=state)
    try:
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip().splitlines()[-1]
        out = tmp_path / "story" / "kirikae.toml"
        seeded = script("seed", "story", "--config-out", str(out), state_dir=state, timeout=300)
        assert seeded.returncode == 0, seeded.stderr
        assert f'endpoint_url = "{url}"' in out.read_text()
        assert seeded.stdout.strip().splitlines()[-1] == f"config: {out}"
    finally:
        assert script("stop", state_dir=state).returncode == 0


def test_script_without_command_shows_usage(tmp_path):
    proc = script(state_dir=tmp_path)
    assert proc.returncode == 2
    assert "scripts/emulator start" in proc.stderr
