"""Where the data plane's servers are: the private servers scripts/db announces, never a fixed port."""

from __future__ import annotations

import pytest

from kirikae_emulator import dataplane
from kirikae_emulator.settings import EmulatorSettings

VARS = [f"KIRIKAE_EMU_{k}_{f}" for k in ("MYSQL", "PG") for f in ("HOST", "PORT", "USER")] + [
    "KIRIKAE_TEST_MYSQL", "KIRIKAE_TEST_PG", "KIRIKAE_DB_DIR",
]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    # an instance directory with nothing in it: no env file
    monkeypatch.setenv("KIRIKAE_DB_DIR", str(tmp_path / "db"))
    return monkeypatch


def test_servers_come_from_the_env_file_scripts_db_writes(clean_env, tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "env").write_text(
        "KIRIKAE_TEST_MYSQL=mysql://root@127.0.0.1:41001\n"
        "KIRIKAE_TEST_PG=postgres://postgres@127.0.0.1:41002\n"
        "KIRIKAE_TEST_CA=/somewhere/ca.pem\n"
    )
    s = EmulatorSettings()
    assert (s.mysql_host, s.mysql_port, s.mysql_user) == ("127.0.0.1", 41001, "root")
    assert (s.pg_host, s.pg_port, s.pg_user) == ("127.0.0.1", 41002, "postgres")


def test_the_environment_wins_over_the_env_file(clean_env, tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "env").write_text("KIRIKAE_TEST_MYSQL=mysql://root@127.0.0.1:41001\n")
    clean_env.setenv("KIRIKAE_TEST_MYSQL", "mysql://admin@127.0.0.1:42001")
    clean_env.setenv("KIRIKAE_EMU_PG_HOST", "::1")
    clean_env.setenv("KIRIKAE_EMU_PG_PORT", "42002")
    s = EmulatorSettings()
    assert (s.mysql_port, s.mysql_user) == (42001, "admin")
    assert (s.pg_host, s.pg_port, s.pg_user) == ("::1", 42002, "postgres")


def test_unknown_servers_say_what_to_run_instead_of_trying_the_system_ports(clean_env, monkeypatch):
    s = EmulatorSettings()
    assert (s.mysql_port, s.pg_port) == (0, 0)
    monkeypatch.setattr(dataplane, "settings", lambda: s)
    for fam in ("mysql", "postgres"):
        with pytest.raises(RuntimeError, match="run scripts/db start"):
            dataplane.admin_connect(fam)


def test_a_malformed_address_is_refused(clean_env):
    clean_env.setenv("KIRIKAE_TEST_PG", "127.0.0.1:5")
    with pytest.raises(ValueError, match="KIRIKAE_TEST_PG"):
        EmulatorSettings()
