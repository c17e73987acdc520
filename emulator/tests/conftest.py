"""Fixtures: an emulator (moto + extensions) served in this process on a free loopback port."""

from __future__ import annotations

import os
import threading

import boto3
import pytest
import requests

from kirikae_emulator.server import make_wsgi_server
from kirikae_emulator.settings import EmulatorSettings

# moto would act in this one account whatever the credentials; the emulator never honours it.
os.environ.pop("MOTO_ACCOUNT_ID", None)

# Clusters report the private server itself (loopback) in these tests whatever the default or
# KIRIKAE_EMU_ENDPOINTS says; the tests of AWS's names switch to "realistic" themselves
# (test_endpoints.py's `realistic` fixture, test_refresh_seed.py).
_SETTINGS = EmulatorSettings(endpoints="loopback")
# One boto3 session for every client: it caches the service models (a fresh session per client
# costs ~0.1 s to load them again).
_BOTO = boto3.session.Session()


@pytest.fixture(scope="session")
def emulator_settings() -> EmulatorSettings:
    return _SETTINGS


@pytest.fixture(scope="session")
def _server(emulator_settings):
    server = make_wsgi_server(emulator_settings, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    # the extensions' cleanup (e.g. dropping this instance's data-plane databases)
    emulator_settings.run_shutdown_hooks()


@pytest.fixture
def endpoint(_server):
    """The endpoint URL of a freshly reset emulator (moto's state and every extension's)."""
    r = requests.post(f"{_server}/_kirikae/reset", timeout=60)
    r.raise_for_status()
    return _server


@pytest.fixture
def client_factory(endpoint):
    """client_factory(service, access_key=..., secret_key=..., session_token=..., account=...,
    max_attempts=..., validate=...) -> boto3 client
    (validate=False skips botocore's client-side checks, as the Rust SDK has none). `account` acts as that account's root through moto's
    x-moto-account-id header (only for keys moto does not know)."""

    def make(
        service,
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="x" * 40,
        session_token=None,
        account=None,
        max_attempts=None,
        validate=True,
    ):
        from botocore.config import Config

        config = Config(parameter_validation=validate)
        if max_attempts:
            config = config.merge(Config(retries={"total_max_attempts": max_attempts, "mode": "standard"}))
        client = _BOTO.client(
            service,
            region_name="ap-northeast-1",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            config=config,
        )
        if account:

            def add_header(request, **_):
                request.headers["x-moto-account-id"] = account

            client.meta.events.register("before-sign", add_header)
        return client

    return make
