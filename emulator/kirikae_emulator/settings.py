"""Settings shared by the emulator's extensions: where the data plane's databases live and how
this emulator instance names what it creates there (so parallel instances never collide).

It also holds two hook chains that extensions register into from their install(settings):

    settings.on_reset(fn)     # fn() runs on every moto reset (POST /moto-api/reset or
                              # POST /_kirikae/reset), after moto's own state is cleared
    settings.on_shutdown(fn)  # fn() runs once when the server stops (SIGTERM/SIGINT on
                              # `python -m kirikae_emulator serve`, or the test session ending)

Hooks run in registration order; one failing hook is reported on stderr and does not stop the
others (so a failed cleanup never hides the rest).
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Callable

Hook = Callable[[], None]


@dataclass
class EmulatorSettings:
    # A short random id; every database and database user this instance creates starts with
    # `db_prefix`, so parallel emulators (parallel tests) never touch each other's data.
    instance_id: str = field(default_factory=lambda: secrets.token_hex(3))
    mysql_host: str = os.environ.get("KIRIKAE_EMU_MYSQL_HOST", "127.0.0.1")
    mysql_port: int = int(os.environ.get("KIRIKAE_EMU_MYSQL_PORT", "3306"))
    mysql_user: str = os.environ.get("KIRIKAE_EMU_MYSQL_USER", "root")
    mysql_password: str = os.environ.get("KIRIKAE_EMU_MYSQL_PASSWORD", "")
    pg_host: str = os.environ.get("KIRIKAE_EMU_PG_HOST", "127.0.0.1")
    pg_port: int = int(os.environ.get("KIRIKAE_EMU_PG_PORT", "5432"))
    pg_user: str = os.environ.get("KIRIKAE_EMU_PG_USER", "postgres")
    pg_password: str = os.environ.get("KIRIKAE_EMU_PG_PASSWORD", "")
    _reset_hooks: list[Hook] = field(default_factory=list, repr=False, compare=False)
    _shutdown_hooks: list[Hook] = field(default_factory=list, repr=False, compare=False)
    _shutdown_done: bool = field(default=False, repr=False, compare=False)
    _hook_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def db_prefix(self) -> str:
        return f"kemu_{self.instance_id}"

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
