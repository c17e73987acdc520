"""The data plane for aurora-postgresql: each cluster's data is a database on local PostgreSQL."""

from __future__ import annotations

import pytest

from kirikae_emulator import dataplane
from rds_support import (  # noqa: F401 - fixtures
    PASSWORD, PROD, _nothing_left_behind, connect, create_cluster, describe, execute, prod, query, rds,
)

PG_SCHEMA = [
    "CREATE TABLE departments (id int PRIMARY KEY, name text NOT NULL UNIQUE)",
    "CREATE TABLE employees (id serial PRIMARY KEY, dept_id int NOT NULL REFERENCES departments(id),"
    " name text NOT NULL, email text)",
    "CREATE INDEX ix_emp_name ON employees (name)",
    "CREATE TABLE audit (id serial PRIMARY KEY, what text)",
    "CREATE VIEW v_emp AS SELECT e.name, d.name AS dept FROM employees e JOIN departments d ON d.id = e.dept_id",
    "CREATE FUNCTION log_emp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (what)"
    " VALUES (NEW.name); RETURN NEW; END $$",
    "CREATE TRIGGER trg_emp AFTER INSERT ON employees FOR EACH ROW EXECUTE FUNCTION log_emp()",
    "INSERT INTO departments VALUES (1, 'sales'), (2, 'ops')",
    "INSERT INTO employees (dept_id, name, email) VALUES (1, '山田太郎', 'taro@example.com'), (2, 'Jane', 'j@example.com')",
]


def _pg(client, cid, **kw):
    return create_cluster(client, cid, engine="aurora-postgresql", **kw)


def _owners(conn):
    return {r[0] for r in query(conn, "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'"
                                      " UNION SELECT viewowner FROM pg_views WHERE schemaname = 'public'"
                                      " UNION SELECT pg_get_userbyid(proowner) FROM pg_proc p JOIN pg_namespace n"
                                      " ON n.oid = p.pronamespace WHERE n.nspname = 'public'")}


def test_pg_cluster_database_and_owner(prod, emulator_settings):
    _pg(prod, "shop-prod")
    c = describe(prod, "shop-prod")
    assert (c["Endpoint"], c["Port"]) == ("127.0.0.1", emulator_settings.pg_port)  # scripts/db's server
    assert c["MasterUsername"] == c["DatabaseName"] and c["DatabaseName"].endswith(f"_{PROD}_shop_prod")
    conn = connect(c)
    execute(conn, *PG_SCHEMA)
    assert query(conn, "SELECT current_database(), current_user") == [(c["DatabaseName"], c["MasterUsername"])]
    assert _owners(conn) == {c["MasterUsername"]}


def test_pg_snapshot_restore_and_clone_copy_data_and_move_ownership(prod, emulator_settings):
    _pg(prod, "shop-prod")
    c = describe(prod, "shop-prod")
    conn = connect(c)
    execute(conn, *PG_SCHEMA)
    conn.close()  # no open session: CREATE DATABASE ... TEMPLATE is used
    prod.create_db_cluster_snapshot(DBClusterIdentifier="shop-prod", DBClusterSnapshotIdentifier="snap1")
    conn = connect(c)
    execute(conn, "INSERT INTO employees (dept_id, name) VALUES (1, 'after')")
    # the source is open now: the clone falls back to pg_dump | psql
    prod.restore_db_cluster_to_point_in_time(DBClusterIdentifier="clone", SourceDBClusterIdentifier="shop-prod",
                                             RestoreType="copy-on-write", UseLatestRestorableTime=True)
    prod.restore_db_cluster_from_snapshot(DBClusterIdentifier="restored", SnapshotIdentifier="snap1",
                                          Engine="aurora-postgresql")
    for cid, expected in (("restored", 2), ("clone", 3)):
        r = describe(prod, cid)
        rconn = connect(r)
        assert query(rconn, "SELECT count(*) FROM employees") == [(expected,)]
        assert _owners(rconn) == {r["MasterUsername"]}, cid
        execute(rconn, "INSERT INTO employees (dept_id, name) VALUES (2, 'new')")
        assert query(rconn, "SELECT what FROM audit ORDER BY id DESC LIMIT 1") == [("new",)]
        assert ("new", "ops") in query(rconn, "SELECT name, dept FROM v_emp")
        assert query(rconn, "SELECT indexname FROM pg_indexes WHERE tablename = 'employees' AND indexname = 'ix_emp_name'")
        with pytest.raises(Exception, match="foreign key"):
            execute(rconn, "INSERT INTO employees (dept_id, name) VALUES (99, 'x')")
        rconn.close()
    # the source database still belongs to its own user
    assert query(conn, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()") == [
        (c["MasterUsername"],)]
    assert query(conn, "SELECT count(*) FROM employees") == [(3,)]
    conn.close()
    # deleting the source leaves snapshot and clone intact; deleting all leaves nothing
    prod.delete_db_cluster(DBClusterIdentifier="shop-prod", SkipFinalSnapshot=True)
    prod.restore_db_cluster_from_snapshot(DBClusterIdentifier="again", SnapshotIdentifier="snap1",
                                          Engine="aurora-postgresql")
    assert query(connect(describe(prod, "again")), "SELECT count(*) FROM employees") == [(2,)]
    for cid in ("clone", "restored", "again"):
        prod.delete_db_cluster(DBClusterIdentifier=cid, SkipFinalSnapshot=True)
    prod.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="snap1")
    assert dataplane.leftovers(emulator_settings) == []


def test_pg_master_password_change_sets_the_role_password(prod):
    _pg(prod, "shop-prod")
    c = describe(prod, "shop-prod")
    admin = dataplane.admin_connect("postgres")

    def verifier():
        return query(admin, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (c["MasterUsername"],))[0][0]

    before = verifier()
    assert before.startswith("SCRAM-SHA-256$") or before.startswith("md5")
    prod.modify_db_cluster(DBClusterIdentifier="shop-prod", MasterUserPassword="An0ther-password", ApplyImmediately=True)
    after = verifier()
    assert after and after != before
    admin.close()
    # (trust auth on loopback here: the server does not check passwords, see README-rds.md)
    assert query(connect(c, password="An0ther-password"), "SELECT 1") == [(1,)]
