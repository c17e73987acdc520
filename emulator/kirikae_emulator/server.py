"""Starts moto's server with kirikae's extensions installed (in this process)."""

from __future__ import annotations

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from .settings import EmulatorSettings

_installed: EmulatorSettings | None = None


def install_extensions(settings: EmulatorSettings) -> None:
    """Patch moto with every extension, once per process."""
    global _installed
    if _installed is not None:
        return
    _installed = settings
    # Each extension module exposes install(settings); imported here so a missing one fails loudly.
    from . import extensions

    extensions.install_all(settings)


def make_app(settings: EmulatorSettings):
    install_extensions(settings)
    app = DomainDispatcherApplication(create_backend_app)
    from . import extensions

    return extensions.wrap_wsgi(app, settings)


def make_wsgi_server(settings: EmulatorSettings, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to listen on {host}: the emulator only serves loopback")
    return make_server(host, port, make_app(settings), threaded=True, request_handler=MotoRequestHandler)
