"""Operator mode (decentralized JWT auth) through nats-py's ``user_credentials``:
operator, accounts and users are made at test time by the real ``nsc`` (built
into the tool cache by scripts/test-deps.sh, ``NSC_BIN`` to override), and the
server runs the config ``nsc generate config --mem-resolver`` writes. The same
tests run against the reference with ``make test-ref``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import nats
import pytest

from natsharness import error_recorder, flush

T = 5.0
NSC = os.environ.get("NSC_BIN") or str(
    Path(os.environ.get("RNATS_CACHE") or Path.home() / ".cache" / "rnats") / "bin" / "nsc")


class Store:
    """One nsc store (``nsc -H DIR``) with operator OP."""

    def __init__(self, dir: Path):
        assert os.access(NSC, os.X_OK), f"nsc not installed at {NSC} (run scripts/test-deps.sh)"
        self.dir = dir

    def run(self, *args: str) -> str:
        env = dict(os.environ, NSC_HOME=str(self.dir / "nsc"), NKEYS_PATH=str(self.dir / "nsc" / "keys"))
        p = subprocess.run([NSC, "-H", str(self.dir / "nsc"), *args], capture_output=True, text=True, env=env)
        assert p.returncode == 0, f"nsc {args} failed:\n{p.stdout}{p.stderr}"
        return p.stdout + p.stderr

    def creds(self, account: str, user: str) -> str:
        return str(self.dir / "nsc" / "creds" / "OP" / account / f"{user}.creds")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    s = Store(tmp_path_factory.mktemp("nsc"))
    s.run("add", "operator", "--generate-signing-key", "--sys", "--name", "OP")
    for acc in ("A", "B"):
        s.run("add", "account", acc)
        s.run("edit", "account", acc, "--sk", "generate")
    s.run("add", "user", "-a", "A", "alice")
    s.run("add", "user", "-a", "A", "bob", "--allow-pub", "ok.>", "--allow-sub", "_INBOX.>")
    s.run("add", "user", "-a", "A", "mallory")
    s.run("revocations", "add-user", "-a", "A", "-n", "mallory")
    s.run("add", "user", "-a", "B", "carol")
    conf = s.dir / "server.conf"
    s.run("generate", "config", "--mem-resolver", "--force", "--config-file", str(conf))
    s.config = conf.read_text()
    return s


async def connect(url: str, creds: str, errors: list | None = None):
    return await nats.connect(url, user_credentials=creds, allow_reconnect=False,
                              max_reconnect_attempts=0, connect_timeout=3,
                              error_cb=error_recorder(errors))


async def test_creds_users_share_their_account_only(server_factory, store):
    srv = server_factory(store.config, name="operator")
    alice = await connect(srv.url, store.creds("A", "alice"))
    bob = await connect(srv.url, store.creds("A", "bob"))
    carol = await connect(srv.url, store.creds("B", "carol"))
    in_a = await alice.subscribe("ok.x")
    in_b = await carol.subscribe("ok.x")
    await flush(alice)
    await flush(carol)
    await bob.publish("ok.x", b"hello")
    await flush(bob)
    assert (await in_a.next_msg(timeout=T)).data == b"hello"
    with pytest.raises(nats.errors.TimeoutError):
        await in_b.next_msg(timeout=0.3)
    for nc in (alice, bob, carol):
        await nc.close()


async def test_jwt_permissions_are_enforced(server_factory, store):
    srv = server_factory(store.config, name="operator")
    errors: list = []
    bob = await connect(srv.url, store.creds("A", "bob"), errors)
    await bob.publish("not.allowed", b"x")
    await flush(bob)
    deadline = asyncio.get_running_loop().time() + T
    while not errors and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    # nats-py lower-cases the -ERR text.
    assert any('permissions violation for publish to "not.allowed"' in str(e).lower() for e in errors), errors
    await bob.close()


async def test_revoked_and_missing_creds_are_refused(server_factory, store):
    srv = server_factory(store.config, name="operator")
    for kw in ({"user_credentials": store.creds("A", "mallory")}, {}):
        with pytest.raises(Exception) as e:
            nc = await nats.connect(srv.url, allow_reconnect=False, max_reconnect_attempts=0,
                                    connect_timeout=3, error_cb=error_recorder(), **kw)
            await nc.close()
        assert "Authorization Violation" in str(e.value) or isinstance(e.value, nats.errors.AuthorizationError), e.value
