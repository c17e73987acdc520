"""Settings shared by the emulator's extensions: where the data plane's databases live and how
this emulator instance names what it creates there (so parallel instances never collide).

It also holds two hook chains that extensions register into from their install(settings):

    settings.on_reset(fn)     # fn() runs on every moto reset (POST /moto-api/reset or
                              # POST /_kirikae/reset), after moto's own state is cleared
    settings.on_shutdown(fn)  # fn() runs once when the server stops (SIGTERM/SIGINT on
                              # `python -m kirikae_emulator serve`, or the test session ending)

Hooks run in registration order; one failing hook is reported on stderr and does not stop the
others (so a failed cleanup never hides the rest).

The data plane's servers are the project's private MariaDB and PostgreSQL (`scripts/db`): their
addresses come from KIRIKAE_EMU_{MYSQL,PG}_{HOST,PORT,USER,PASSWORD} when set, else from
KIRIKAE_TEST_MYSQL / KIRIKAE_TEST_PG (`scheme://user@host:port`, the lines `scripts/db env`
prints and `scripts/test`, `scripts/demo`, `scripts/emulator` export), else from the env file
`scripts/db start` writes in this checkout ($KIRIKAE_DB_DIR/env, default .kirikae-local/db/env).

`endpoints` says what DescribeDBClusters / DescribeDBInstances report (README-rds.md):
"realistic" (the default: `<cluster>.cluster-<id>.<region>.rds.amazonaws.com` and the engine's
port, names that do not resolve: a client needs a tunnel, the emulator's bastion, as a laptop
needs one to reach a cluster in a VPC's private subnets) or "loopback" (127.0.0.1 and the
private server's port, so a client connects directly). From
KIRIKAE_EMU_ENDPOINTS or `serve --endpoints`.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

Hook = Callable[[], None]

REPO = Path(__file__).resolve().parents[2]
NOT_RUNNING_HINT = "run scripts/db start (it starts the project's private database servers)"


def _db_env_file() -> Path:
    return Path(os.environ.get("KIRIKAE_DB_DIR") or REPO / ".kirikae-local" / "db") / "env"


def _announced(var: str) -> str | None:
    """scripts/db's `var=scheme://user@host:port`, from the environment or its env file."""
    if os.environ.get(var):
        return os.environ[var]
    try:
        lines = _db_env_file().read_text().splitlines()
    except OSError:
        return None
    return next((line.split("=", 1)[1].strip() for line in lines if line.startswith(var + "=")), None)


def _server(kind: str, announced: str, default_user: str) -> tuple[str, int, str]:
    """(host, port, user) of one data-plane server; port 0 when nothing says where it is."""
    host, port, user = "127.0.0.1", 0, default_user
    url = _announced(announced)
    if url:
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise ValueError(f"{announced}={url!r}: expected scheme://user@host:port")
        host, port, user = parts.hostname, parts.port, parts.username or default_user
    host = os.environ.get(f"KIRIKAE_EMU_{kind}_HOST", host)
    port = int(os.environ.get(f"KIRIKAE_EMU_{kind}_PORT", port))
    user = os.environ.get(f"KIRIKAE_EMU_{kind}_USER", user)
    return host, port, user


ENDPOINT_MODES = ("loopback", "realistic")


def _endpoints_mode(value: str) -> str:
    if value not in ENDPOINT_MODES:
        raise ValueError(f"endpoints mode {value!r}: expected one of {', '.join(ENDPOINT_MODES)} "
                         "(KIRIKAE_EMU_ENDPOINTS or serve --endpoints)")
    return value


@dataclass
class EmulatorSettings:
    # A short random id; every database and database user this instance creates starts with
    # `db_prefix`, so parallel emulators (parallel tests) never touch each other's data.
    instance_id: str = field(default_factory=lambda: secrets.token_hex(3))
    # The data plane's servers (see the module's doc); a port of 0 means "not known":
    # require_server() then says what to run.
    mysql_host: str = field(default_factory=lambda: _server("MYSQL", "KIRIKAE_TEST_MYSQL", "root")[0])
    mysql_port: int = field(default_factory=lambda: _server("MYSQL", "KIRIKAE_TEST_MYSQL", "root")[1])
    mysql_user: str = field(default_factory=lambda: _server("MYSQL", "KIRIKAE_TEST_MYSQL", "root")[2])
    mysql_password: str = field(default_factory=lambda: os.environ.get("KIRIKAE_EMU_MYSQL_PASSWORD", ""))
    pg_host: str = field(default_factory=lambda: _server("PG", "KIRIKAE_TEST_PG", "postgres")[0])
    pg_port: int = field(default_factory=lambda: _server("PG", "KIRIKAE_TEST_PG", "postgres")[1])
    pg_user: str = field(default_factory=lambda: _server("PG", "KIRIKAE_TEST_PG", "postgres")[2])
    pg_password: str = field(default_factory=lambda: os.environ.get("KIRIKAE_EMU_PG_PASSWORD", ""))
    endpoints: str = field(default_factory=lambda: _endpoints_mode(os.environ.get("KIRIKAE_EMU_ENDPOINTS") or "realistic"))
    _reset_hooks: list[Hook] = field(default_factory=list, repr=False, compare=False)
    _shutdown_hooks: list[Hook] = field(default_factory=list, repr=False, compare=False)
    _shutdown_done: bool = field(default=False, repr=False, compare=False)
    _hook_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def realistic_endpoints(self) -> bool:
        return self.endpoints == "realistic"

    @property
    def db_prefix(self) -> str:
        return f"kemu_{self.instance_id}"

    def require_server(self, fam: str) -> None:
        """Raises, saying what to run, when the data plane's server of `fam` ("mysql" or
        "postgres") is not known."""
        if (self.mysql_port if fam == "mysql" else self.pg_port) == 0:
            kind, name = ("MYSQL", "MariaDB") if fam == "mysql" else ("PG", "PostgreSQL")
            raise RuntimeError(
                f"the emulator's data plane does not know where its {name} server is: "
                f"{NOT_RUNNING_HINT}, or set KIRIKAE_EMU_{kind}_HOST and KIRIKAE_EMU_{kind}_PORT"
            )

    # --- hook chains ---------------------------------------------------------------------------
    def on_reset(self, fn: Hook) -> Hook:
        """Register fn() to run after every moto reset. Returns fn (usable as a decorator)."""
        with self._hook_lock:
            self._reset_hooks.append(fn)
        return fn

    def on_shutdown(self, fn: Hook) -> Hook:
        """Register fn() to run once when the emulator stops. Returns fn (usable as a decorator)."""
        with self._hook_lock:
            self._shutdown_hooks.append(fn)
        return fn

    def run_reset_hooks(self) -> list[BaseException]:
        with self._hook_lock:
            hooks = list(self._reset_hooks)
        return _run_all("reset", hooks)

    def run_shutdown_hooks(self) -> list[BaseException]:
        """Runs the shutdown chain once (later calls do nothing); returns the hooks' errors."""
        with self._hook_lock:
            if self._shutdown_done:
                return []
            self._shutdown_done = True
            hooks = list(self._shutdown_hooks)
        return _run_all("shutdown", hooks)


def _run_all(kind: str, hooks: list[Hook]) -> list[BaseException]:
    errors: list[BaseException] = []
    for fn in hooks:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - one failing hook must not stop the others
            errors.append(exc)
            name = getattr(fn, "__qualname__", repr(fn))
            print(f"kirikae emulator: {kind} hook {name} failed: {exc}", file=sys.stderr, flush=True)
            traceback.print_exc(file=sys.stderr)
    return errors
