"""Starts moto's server with kirikae's extensions installed (in this process)."""

from __future__ import annotations

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from .settings import EmulatorSettings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_installed: EmulatorSettings | None = None


def installed_settings() -> EmulatorSettings | None:
    """The settings the extensions were installed with in this process (None before)."""
    return _installed


def _patch_moto_reset(settings: EmulatorSettings) -> None:
    """Every moto reset (POST /moto-api/reset, POST /_kirikae/reset, moto_api_backend.reset())
    also runs the extensions' reset hooks, so moto's state and the extensions' state (data-plane
    databases, STS sessions, faults) are always cleared together."""
    from moto.moto_api._internal.models import MotoAPIBackend

    original = MotoAPIBackend.reset

    def reset(self) -> None:
        original(self)
        settings.run_reset_hooks()

    MotoAPIBackend.reset = reset  # type: ignore[method-assign]


def install_extensions(settings: EmulatorSettings) -> None:
    """Patch moto with every extension, once per process."""
    global _installed
    if _installed is not None:
        return
    _installed = settings
    _patch_moto_reset(settings)
    # Each extension module exposes install(settings); imported here so a missing one fails loudly.
    from . import extensions

    extensions.install_all(settings)


def make_app(settings: EmulatorSettings):
    install_extensions(settings)
    app = DomainDispatcherApplication(create_backend_app)
    from . import extensions

    return extensions.wrap_wsgi(app, settings)


def check_loopback(host: str) -> None:
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"refusing to listen on {host}: the emulator only serves loopback ({', '.join(LOOPBACK_HOSTS)})")


def make_wsgi_server(settings: EmulatorSettings, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    check_loopback(host)
    return make_server(host, port, make_app(settings), threaded=True, request_handler=MotoRequestHandler)


def server_url(server: BaseWSGIServer) -> str:
    host, port = server.server_address[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
