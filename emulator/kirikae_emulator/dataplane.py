"""The RDS data plane: every emulated Aurora/RDS cluster's data is a real database on the local
MariaDB (aurora-mysql, aurora, mysql) or PostgreSQL (aurora-postgresql, postgres) server.

This module knows nothing of moto; `rds.py` calls it. Functions other modules may use (the seed
uses these to load sample data into a cluster):

    database_for_cluster(account, region, cluster_id) -> ConnectionInfo
        Where an emulated cluster's data lives: host, port, user (= the cluster's reported
        MasterUsername), password (its current master password), database (= its reported
        DatabaseName), family ("mysql" | "postgres"). Raises LookupError if there is no such
        cluster or it has no data plane (e.g. neptune).
    connect(info) -> DB-API connection (PyMySQL or pg8000), autocommit on.
    client_command(info) -> (argv, env) for `mariadb` / `psql` connected to that database
        (feed SQL on stdin, e.g. story_data.py's script).
    copy_database(family, src_db, dst_db, dst_owner=None, src_owner=None)
        Copy one database into a new one on the same server (schema, data, indexes, foreign keys,
        triggers, views, routines, events). MariaDB: mariadb-dump | mariadb, DEFINER clauses
        rewritten to `dst_owner`. PostgreSQL: CREATE DATABASE ... TEMPLATE (falls back to
        pg_dump | psql when the source has open connections), ownership moved src_owner -> dst_owner.
    drop_all(settings=None) -> list of dropped names
        Drop every database and user/role whose name starts with settings.db_prefix.
    leftovers(settings=None) -> list of names still present with that prefix.

Naming (see README-rds.md): a cluster's database and its user share one name,
`<db_prefix>_<account>_<cluster-id with - as _>` (at most 63 characters; `_2`, `_3`... added if
taken, e.g. after a rename freed the identifier). It is fixed when the cluster is created: a
rename (ModifyDBCluster NewDBClusterIdentifier) does not move the data. Snapshot databases are
`<db_prefix>_<account>_s_<snapshot-id>`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .settings import EmulatorSettings

MYSQL_ENGINES = {"aurora-mysql", "aurora", "mysql", "mariadb"}
POSTGRES_ENGINES = {"aurora-postgresql", "postgres"}
MAX_NAME = 63

_settings: EmulatorSettings | None = None
_lock = threading.RLock()  # name allocation and PostgreSQL ownership moves are serialised


def configure(settings: EmulatorSettings) -> None:
    global _settings
    _settings = settings


def settings() -> EmulatorSettings:
    if _settings is None:
        raise RuntimeError("dataplane not configured: the rds extension was not installed")
    return _settings


def family(engine: str | None) -> str | None:
    if engine in MYSQL_ENGINES:
        return "mysql"
    if engine in POSTGRES_ENGINES:
        return "postgres"
    return None


@dataclass(frozen=True)
class ConnectionInfo:
    family: str
    host: str
    port: int
    user: str
    password: str
    database: str


def server_endpoint(fam: str) -> tuple[str, int]:
    s = settings()
    s.require_server(fam)
    return (s.mysql_host, s.mysql_port) if fam == "mysql" else (s.pg_host, s.pg_port)


# --------------------------------------------------------------------------- admin connections


def admin_connect(fam: str, database: str | None = None):
    s = settings()
    s.require_server(fam)
    if fam == "mysql":
        import pymysql

        return pymysql.connect(
            host=s.mysql_host, port=s.mysql_port, user=s.mysql_user, password=s.mysql_password,
            database=database, autocommit=True, charset="utf8mb4",
        )
    import pg8000.dbapi

    conn = pg8000.dbapi.connect(
        host=s.pg_host, port=s.pg_port, user=s.pg_user, password=s.pg_password or None,
        database=database or "postgres",
    )
    conn.autocommit = True
    return conn


def _exec(fam: str, sql: str | list[str], database: str | None = None, fetch: bool = False):
    conn = admin_connect(fam, database)
    try:
        cur = conn.cursor()
        rows: list[Any] = []
        for stmt in [sql] if isinstance(sql, str) else sql:
            cur.execute(stmt)
            if fetch:
                rows = list(cur.fetchall())
        return rows
    finally:
        conn.close()


def connect(info: ConnectionInfo):
    """A connection as the cluster's master user (what a client of the emulated cluster gets)."""
    if info.family == "mysql":
        import pymysql

        return pymysql.connect(
            host=info.host, port=info.port, user=info.user, password=info.password,
            database=info.database, autocommit=True, charset="utf8mb4",
        )
    import pg8000.dbapi

    conn = pg8000.dbapi.connect(
        host=info.host, port=info.port, user=info.user, password=info.password, database=info.database
    )
    conn.autocommit = True
    return conn


def client_command(info: ConnectionInfo) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if info.family == "mysql":
        env["MYSQL_PWD"] = info.password
        return (["mariadb", "-h", info.host, "-P", str(info.port), "-u", info.user, info.database], env)
    env["PGPASSWORD"] = info.password
    return (["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", info.host, "-p", str(info.port),
             "-U", info.user, "-d", info.database], env)


# --------------------------------------------------------------------------- quoting and names


def _q_my(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _s_my(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _q_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s_pg(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _slug(identifier: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", identifier.lower())


def _exists(fam: str, name: str) -> bool:
    if fam == "mysql":
        rows = _exec(fam, [f"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {_s_my(name)}",
                           ], fetch=True)
        users = _exec(fam, f"SELECT COUNT(*) FROM mysql.user WHERE User = {_s_my(name)}", fetch=True)
        return rows[0][0] > 0 or users[0][0] > 0
    rows = _exec(fam, f"SELECT (SELECT COUNT(*) FROM pg_database WHERE datname = {_s_pg(name)})"
                      f" + (SELECT COUNT(*) FROM pg_roles WHERE rolname = {_s_pg(name)})", fetch=True)
    return rows[0][0] > 0


_reserved: set[str] = set()


def allocate_name(fam: str, account: str, identifier: str, kind: str = "") -> str:
    """A fresh database/user name for a cluster (kind="") or snapshot (kind="s")."""
    base = f"{settings().db_prefix}_{account}_" + (f"{kind}_" if kind else "") + _slug(identifier)
    with _lock:
        n = 1
        while True:
            suffix = "" if n == 1 else f"_{n}"
            stem = base[: MAX_NAME - len(suffix)]
            # MariaDB's GRANT takes the name with every `_` escaped (`\_`), and refuses a
            # database name longer than 64 characters in that form too.
            while fam == "mysql" and len(stem + suffix) + (stem + suffix).count("_") > 64:
                stem = stem[:-1]
            name = stem + suffix
            if name not in _reserved and not _exists(fam, name):
                _reserved.add(name)
                return name
            n += 1


def release_name(name: str) -> None:
    with _lock:
        _reserved.discard(name)


# --------------------------------------------------------------------------- cluster databases


def create_cluster_database(fam: str, name: str, password: str) -> None:
    """An empty database `name` and a login user `name` with `password` that owns it."""
    if fam == "mysql":
        esc = name.replace("_", "\\_")  # `_` is a wildcard in GRANT database names
        _exec(fam, [
            f"CREATE DATABASE {_q_my(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            f"CREATE USER {_s_my(name)}@'%' IDENTIFIED BY {_s_my(password)}",
            f"GRANT ALL PRIVILEGES ON {_q_my(esc)}.* TO {_s_my(name)}@'%'",
        ])
    else:
        _exec(fam, [
            f"CREATE ROLE {_q_pg(name)} LOGIN PASSWORD {_s_pg(password)}",
            f"CREATE DATABASE {_q_pg(name)} OWNER {_q_pg(name)} TEMPLATE template0 ENCODING 'UTF8'",
        ])


def create_user_for(fam: str, name: str, password: str) -> None:
    """The login user of a cluster whose database was made by copy_database."""
    if fam == "mysql":
        esc = name.replace("_", "\\_")
        _exec(fam, [
            f"CREATE USER {_s_my(name)}@'%' IDENTIFIED BY {_s_my(password)}",
            f"GRANT ALL PRIVILEGES ON {_q_my(esc)}.* TO {_s_my(name)}@'%'",
        ])
    else:
        _exec(fam, f"CREATE ROLE {_q_pg(name)} LOGIN PASSWORD {_s_pg(password)}")


def create_owner_role(fam: str, name: str) -> None:
    """PostgreSQL only: a NOLOGIN role owning a snapshot database's objects."""
    if fam == "postgres":
        _exec(fam, f"CREATE ROLE {_q_pg(name)} NOLOGIN")


def set_password(fam: str, user: str, password: str) -> None:
    if fam == "mysql":
        _exec(fam, f"ALTER USER {_s_my(user)}@'%' IDENTIFIED BY {_s_my(password)}")
    else:
        _exec(fam, f"ALTER ROLE {_q_pg(user)} PASSWORD {_s_pg(password)}")


def drop_database(fam: str, name: str, user: str | None = None) -> None:
    """Drop a database and (optionally) its user, ending their open sessions first."""
    if fam == "mysql":
        conn = admin_connect(fam)
        try:
            cur = conn.cursor()
            if user:
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND ID <> CONNECTION_ID()", (user,))
                for (pid,) in cur.fetchall():
                    try:
                        cur.execute(f"KILL CONNECTION {int(pid)}")
                    except Exception:
                        pass
            cur.execute(f"DROP DATABASE IF EXISTS {_q_my(name)}")
            if user:
                cur.execute(f"DROP USER IF EXISTS {_s_my(user)}@'%'")
        finally:
            conn.close()
        return
    _exec(fam, f"DROP DATABASE IF EXISTS {_q_pg(name)} WITH (FORCE)")
    if user:
        _drop_pg_role(user)


def _drop_pg_role(role: str) -> None:
    try:
        _exec("postgres", f"DROP ROLE IF EXISTS {_q_pg(role)}")
        return
    except Exception:
        pass
    # Privileges granted to the role in other databases (e.g. copied into a snapshot) keep it
    # alive: remove them in every database of this instance, then drop it.
    for db in _pg_prefixed_databases():
        try:
            _exec("postgres", f"DROP OWNED BY {_q_pg(role)}", database=db)
        except Exception:
            pass
    _exec("postgres", f"DROP ROLE IF EXISTS {_q_pg(role)}")


def _pg_prefixed_databases() -> list[str]:
    like = settings().db_prefix.replace("_", "\\_") + "\\_%"
    return [r[0] for r in _exec("postgres", f"SELECT datname FROM pg_database WHERE datname LIKE {_s_pg(like)}", fetch=True)]


# --------------------------------------------------------------------------- copying


_DEFINER = re.compile(rb"DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`")


def copy_database(fam: str, src_db: str, dst_db: str, dst_owner: str | None = None,
                  src_owner: str | None = None) -> None:
    """Copy database src_db into a new database dst_db on the same server.

    MariaDB: DEFINERs of views/triggers/routines/events become `dst_owner`@`%` (kept if None).
    PostgreSQL: the new database and every object src_owner owned in it belong to dst_owner
    (which must exist); if dst_owner is None they stay with src_owner.
    """
    if fam == "mysql":
        _copy_mysql(src_db, dst_db, dst_owner)
    else:
        _copy_pg(src_db, dst_db, dst_owner, src_owner)


def _copy_mysql(src_db: str, dst_db: str, dst_owner: str | None) -> None:
    s = settings()
    _exec("mysql", f"CREATE DATABASE {_q_my(dst_db)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    env = dict(os.environ)
    env["MYSQL_PWD"] = s.mysql_password
    common = ["-h", s.mysql_host, "-P", str(s.mysql_port), "-u", s.mysql_user, "--protocol=TCP"]
    dump_cmd = [_tool("mariadb-dump", "mysqldump"), *common, "--single-transaction", "--routines",
                "--triggers", "--events", "--hex-blob", "--default-character-set=utf8mb4",
                "--skip-comments", "--no-create-db", "--skip-lock-tables", src_db]
    load_cmd = [_tool("mariadb", "mysql"), *common, "--default-character-set=utf8mb4", dst_db]
    replacement = (b"DEFINER=`" + dst_owner.encode().replace(b"`", b"``") + b"`@`%`") if dst_owner else None
    # A view's definition names its own database (`src`.`table`.`column`) wherever MariaDB
    # qualified it; in the copy it must name the copy, else a copy of a copy fails to load.
    src_prefix = b"`" + src_db.encode().replace(b"`", b"``") + b"`."
    def rewrite(line: bytes) -> bytes:
        if line.startswith(b"INSERT INTO"):
            return line
        if src_prefix in line:
            line = line.replace(src_prefix, b"")
        if replacement is not None and b"DEFINER=" in line:
            return _DEFINER.sub(replacement, line)
        return line

    try:
        _pipe(dump_cmd, load_cmd, env, rewrite, f"{src_db} -> {dst_db}")
    except BaseException:
        _exec("mysql", f"DROP DATABASE IF EXISTS {_q_my(dst_db)}")
        raise


def _pipe(dump_cmd: list[str], load_cmd: list[str], env: dict[str, str],
          rewrite: Callable[[bytes], bytes], what: str) -> None:
    """Streams a dump tool's output, line by line through `rewrite`, into a load tool."""
    dump = subprocess.Popen(dump_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    load = subprocess.Popen(load_cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    assert dump.stdout is not None and load.stdin is not None
    for line in dump.stdout:
        load.stdin.write(rewrite(line))
    load.stdin.close()
    dump_err = dump.stderr.read() if dump.stderr else b""
    load_err = load.stderr.read() if load.stderr else b""
    if dump.wait() != 0 or load.wait() != 0:
        raise RuntimeError(f"copying {what} failed: {dump_err.decode(errors='replace')}"
                           f"{load_err.decode(errors='replace')}")


def _tool(*names: str) -> str:
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    raise RuntimeError(f"none of {names} is on PATH")


def _copy_pg(src_db: str, dst_db: str, dst_owner: str | None, src_owner: str | None) -> None:
    owner = dst_owner or src_owner
    with _lock:
        # PostgreSQL waits 5 s before refusing a template that has sessions: look first.
        busy = _exec("postgres", f"SELECT count(*) FROM pg_stat_activity WHERE datname = {_s_pg(src_db)}", fetch=True)
        if busy[0][0]:
            _copy_pg_dump(src_db, dst_db, owner, src_owner)
            return
        try:
            _exec("postgres", f"CREATE DATABASE {_q_pg(dst_db)} TEMPLATE {_q_pg(src_db)}"
                              + (f" OWNER {_q_pg(owner)}" if owner else ""))
        except Exception as exc:  # most often: the source has open sessions
            if "being accessed by other users" not in str(exc):
                raise
            _copy_pg_dump(src_db, dst_db, owner, src_owner)
            return
        try:
            if dst_owner and src_owner and dst_owner != src_owner:
                _pg_move_ownership(dst_db, src_owner, dst_owner)
        except BaseException:
            _exec("postgres", f"DROP DATABASE IF EXISTS {_q_pg(dst_db)} WITH (FORCE)")
            raise


def _pg_move_ownership(db: str, old: str, new: str) -> None:
    """Give `new` what `old` owns inside `db`. REASSIGN OWNED also moves databases `old` owns
    (shared objects); those are given back."""
    owned = [r[0] for r in _exec("postgres",
             f"SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = {_s_pg(old)}",
             fetch=True)]
    _exec("postgres", f"REASSIGN OWNED BY {_q_pg(old)} TO {_q_pg(new)}", database=db)
    restore = [f"ALTER DATABASE {_q_pg(d)} OWNER TO {_q_pg(old)}" for d in owned if d != db]
    restore.append(f"ALTER DATABASE {_q_pg(db)} OWNER TO {_q_pg(new)}")
    _exec("postgres", restore)


_COPY_START = re.compile(rb"^COPY .* FROM stdin;\s*$")


def _copy_pg_dump(src_db: str, dst_db: str, owner: str | None, src_owner: str | None) -> None:
    s = settings()
    _exec("postgres", f"CREATE DATABASE {_q_pg(dst_db)} TEMPLATE template0 ENCODING 'UTF8'"
                      + (f" OWNER {_q_pg(owner)}" if owner else ""))
    env = dict(os.environ)
    if s.pg_password:
        env["PGPASSWORD"] = s.pg_password
    common = ["-h", s.pg_host, "-p", str(s.pg_port), "-U", s.pg_user]
    dump_cmd = [_tool("pg_dump"), *common, "--no-comments", src_db]
    load_cmd = [_tool("psql"), *common, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dst_db]
    pattern = re.compile(rb"\b" + re.escape(src_owner.encode()) + rb"\b") if (src_owner and owner and owner != src_owner) else None
    in_copy = False

    def rewrite(line: bytes) -> bytes:
        # Data lines of COPY blocks are never rewritten; only ownership and grant statements.
        nonlocal in_copy
        if in_copy:
            if line.rstrip(b"\r\n") == b"\\.":
                in_copy = False
        elif _COPY_START.match(line):
            in_copy = True
        elif pattern is not None and (line.startswith(b"ALTER ") or line.startswith(b"GRANT ")
                                      or line.startswith(b"REVOKE ")):
            return pattern.sub(owner.encode(), line)  # type: ignore[union-attr]
        return line

    try:
        _pipe(dump_cmd, load_cmd, env, rewrite, f"{src_db} -> {dst_db}")
    except BaseException:
        _exec("postgres", f"DROP DATABASE IF EXISTS {_q_pg(dst_db)} WITH (FORCE)")
        raise


# --------------------------------------------------------------------------- cleanup


def leftovers(s: EmulatorSettings | None = None) -> list[str]:
    """Every database and user/role on both servers whose name starts with this instance's prefix."""
    s = s or settings()
    if _settings is None:
        configure(s)
    like_my = s.db_prefix.replace("_", "\\_") + "\\_%"
    found: list[str] = []
    found += [f"mysql database {r[0]}" for r in _exec("mysql",
              f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE {_s_my(like_my)}", fetch=True)]
    found += [f"mysql user {r[0]}@{r[1]}" for r in _exec("mysql",
              f"SELECT User, Host FROM mysql.user WHERE User LIKE {_s_my(like_my)}", fetch=True)]
    found += [f"postgres database {r[0]}" for r in _exec("postgres",
              f"SELECT datname FROM pg_database WHERE datname LIKE {_s_pg(like_my)}", fetch=True)]
    found += [f"postgres role {r[0]}" for r in _exec("postgres",
              f"SELECT rolname FROM pg_roles WHERE rolname LIKE {_s_pg(like_my)}", fetch=True)]
    return found


def drop_all(s: EmulatorSettings | None = None) -> list[str]:
    """Drop everything this emulator instance created on both servers (by name prefix)."""
    s = s or settings()
    if _settings is None:
        configure(s)
    like = s.db_prefix.replace("_", "\\_") + "\\_%"
    dropped: list[str] = []
    with _lock:
        for (db,) in _exec("mysql", f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE {_s_my(like)}", fetch=True):
            _exec("mysql", f"DROP DATABASE IF EXISTS {_q_my(db)}")
            dropped.append(db)
        for user, host in _exec("mysql", f"SELECT User, Host FROM mysql.user WHERE User LIKE {_s_my(like)}", fetch=True):
            _exec("mysql", f"DROP USER IF EXISTS {_s_my(user)}@{_s_my(host)}")
            dropped.append(f"{user}@{host}")
        for db in _pg_prefixed_databases():
            _exec("postgres", f"DROP DATABASE IF EXISTS {_q_pg(db)} WITH (FORCE)")
            dropped.append(db)
        for (role,) in _exec("postgres", f"SELECT rolname FROM pg_roles WHERE rolname LIKE {_s_pg(like)}", fetch=True):
            _exec("postgres", f"DROP ROLE IF EXISTS {_q_pg(role)}")
            dropped.append(role)
        for name in [n for n in _reserved if n.startswith(s.db_prefix + "_")]:
            _reserved.discard(name)
    return dropped


# --------------------------------------------------------------------------- lookup


def database_for_cluster(account: str, region: str, cluster_id: str) -> ConnectionInfo:
    """Connection info of an emulated cluster's data (see module docstring)."""
    from . import rds

    return rds.connection_info(account, region, cluster_id)
