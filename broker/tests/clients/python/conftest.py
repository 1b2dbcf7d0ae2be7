"""Fixtures for the nats-py and natscli suites.

Run with NATS_TEST_SERVER=/path/to/server (see the repo Makefile: `make test-py`,
or `make test-ref` for the reference nats-server).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nats
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from natsharness import SERVER_ENV, NatsServer, error_recorder, server_binary

_live_servers: list[NatsServer] = []


def pytest_configure(config):
    try:
        server_binary()
    except RuntimeError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_report_header(config):
    return f"server under test ({SERVER_ENV}): {os.environ.get(SERVER_ENV)}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for s in _live_servers:
            report.sections.append((f"server log {s.name} ({s.log_path})", s.log_tail()))
    return report


def _start(tmp_path_factory, name: str, config: str | None = None) -> NatsServer:
    server = NatsServer(tmp_path_factory.mktemp(name), name=name, config=config)
    server.start()
    _live_servers.append(server)
    return server


def _stop(server: NatsServer) -> None:
    server.stop()
    _live_servers.remove(server)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A default-configured server shared by the tests of one module."""
    s = _start(tmp_path_factory, "shared")
    yield s
    _stop(s)


@pytest.fixture
def server_factory(tmp_path_factory):
    """Starts servers private to one test (with an optional config file text)."""
    started: list[NatsServer] = []

    def make(config: str | None = None, name: str = "private") -> NatsServer:
        s = _start(tmp_path_factory, name, config)
        started.append(s)
        return s

    yield make
    for s in started:
        _stop(s)


@pytest.fixture
async def connect(server):
    """Async factory for nats-py connections (to the shared server unless a
    URL is given); all are closed after the test. Reconnects are off by
    default so failures surface at once."""
    conns = []

    async def make(url: str | None = None, **kwargs):
        kwargs.setdefault("allow_reconnect", False)
        kwargs.setdefault("connect_timeout", 2)
        kwargs.setdefault("error_cb", error_recorder())
        conn = await nats.connect(url or server.url, **kwargs)
        conns.append(conn)
        return conn

    yield make
    for conn in conns:
        await conn.close()


@pytest.fixture
async def nc(connect):
    """One connection to the shared server."""
    return await connect()
