"""Accounts through nats-py: isolation between accounts, a subscription through a stream
import, a request across a service import, allow_responses, and the account a user is bound
to. Runs against rnats and, with ``make test-ref``, the reference nats-server.
"""

from __future__ import annotations

import json

import nats
import pytest
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

from natsharness import NatsServer, error_recorder, flush

T = 5.0

CONFIG = """
accounts {
  A: {
    users: [ {user: a, password: pa} ]
    exports: [
      {stream: "events.>"}
      {service: "svc.echo", accounts: [B]}
    ]
  }
  B: {
    users: [
      {user: b, password: pb}
      {user: worker, password: pw, permissions: {subscribe: "jobs", allow_responses: true}}
    ]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: "from_a"}
      {service: {account: A, subject: "svc.echo"}, to: "echo"}
    ]
  }
  C: { users: [ {user: c, password: pc} ] }
}
"""


@pytest.fixture
def server(tmp_path):
    s = NatsServer(tmp_path / "acc", name="acc", config=CONFIG)
    s.start()
    yield s
    s.stop()


async def connect(server: NatsServer, user: str, password: str):
    return await nats.connect(server.url, user=user, password=password, allow_reconnect=False,
                              max_reconnect_attempts=0, connect_timeout=3,
                              error_cb=error_recorder())


async def test_stream_import_subscription(server):
    a = await connect(server, "a", "pa")
    b = await connect(server, "b", "pb")
    c = await connect(server, "c", "pc")
    via_import = await b.subscribe("from_a.events.>")
    plain_b = await b.subscribe("events.>")
    plain_c = await c.subscribe("events.>")
    await flush(b)
    await flush(c)
    await a.publish("events.new", b"e1")
    await flush(a)
    msg = await via_import.next_msg(timeout=T)
    assert (msg.subject, msg.data) == ("from_a.events.new", b"e1")
    # Without an import (C) or under the unprefixed name (B), nothing arrives.
    await c.publish("events.marker", b"m")
    assert (await plain_c.next_msg(timeout=T)).data == b"m"
    with pytest.raises(NatsTimeout):
        await plain_b.next_msg(timeout=0.2)
    for nc in (a, b, c):
        await nc.close()


async def test_service_import_request(server):
    a = await connect(server, "a", "pa")
    b = await connect(server, "b", "pb")
    seen = []

    async def echo(msg):
        info = json.loads(msg.headers.get("Nats-Request-Info", "{}")) if msg.headers else {}
        seen.append((msg.subject, msg.reply, info.get("acc")))
        await msg.respond(b"echo:" + msg.data)

    await a.subscribe("svc.echo", cb=echo)
    await flush(a)
    resp = await b.request("echo", b"hello", timeout=T)
    assert resp.data == b"echo:hello"
    subject, reply, acc = seen[0]
    assert subject == "svc.echo"
    assert reply.startswith("_R_.")
    assert acc == "B"
    # C imports nothing: its "echo" reaches no one.
    c = await connect(server, "c", "pc")
    with pytest.raises(NoRespondersError):
        await c.request("echo", b"x", timeout=T)
    for nc in (a, b, c):
        await nc.close()


async def test_allow_responses(server):
    b = await connect(server, "b", "pb")
    worker = await connect(server, "worker", "pw")

    async def job(msg):
        await msg.respond(b"done")

    await worker.subscribe("jobs", cb=job)
    await flush(worker)
    resp = await b.request("jobs", b"work", timeout=T)
    assert resp.data == b"done"
    for nc in (b, worker):
        await nc.close()
