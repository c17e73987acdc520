"""Fixtures: an emulator (moto + extensions) served in this process on a free loopback port."""

from __future__ import annotations

import threading

import boto3
import pytest
import requests

from kirikae_emulator.server import make_wsgi_server
from kirikae_emulator.settings import EmulatorSettings

_SETTINGS = EmulatorSettings()


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


@pytest.fixture
def endpoint(_server):
    """The endpoint URL of a freshly reset emulator."""
    requests.post(f"{_server}/moto-api/reset", timeout=10)
    return _server


@pytest.fixture
def client_factory(endpoint):
    """client_factory(service, access_key=..., secret_key=..., session_token=...) -> boto3 client."""

    def make(service, access_key="AKIAIOSFODNN7EXAMPLE", secret_key="x" * 40, session_token=None):
        return boto3.client(
            service,
            region_name="ap-northeast-1",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
        )

    return make
