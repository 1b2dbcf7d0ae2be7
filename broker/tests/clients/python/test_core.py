"""Core NATS behaviour seen through nats-py (and a raw socket where the
client would hide what the server does).

Ordering facts the assertions rely on (all part of the NATS protocol):
* messages from one publisher connection to one subscription arrive in
  publish order;
* a PING is answered only after every earlier command of that connection
  was processed, so after ``await flush(pub)`` every message published
  before it has been routed; after that, a flush on a subscriber
  connection returns only once everything routed to it before has arrived.
So "nothing else arrived" is proved with flushes or a trailing sentinel
message, never by sleeping. (``flush`` is natsharness.flush: nats-py's own
``Client.flush()`` can send its PING ahead of still-buffered commands.)
"""

from __future__ import annotations

import asyncio

import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from natsharness import RawClient, flush, wait_for

T = 5.0  # per-message deadline, seconds


async def collect(sub, n: int, timeout: float = T) -> list:
    return [await sub.next_msg(timeout=timeout) for _ in range(n)]


async def collect_through(sub, sentinel_subject: str, limit: int = 1000) -> list[str]:
    """Subjects received up to and including the sentinel."""
    subjects = []
    for _ in range(limit):
        msg = await sub.next_msg(timeout=T)
        subjects.append(msg.subject)
        if msg.subject == sentinel_subject:
            return subjects
    raise AssertionError(f"no sentinel after {limit} messages: {subjects[:20]}")


def drain_pending(sub) -> list:
    """Messages already delivered to ``sub`` and waiting in its queue."""
    out = []
    while not sub._pending_queue.empty():
        out.append(sub._pending_queue.get_nowait())
    return out


# --------------------------------------------------------------------------- pub/sub


async def test_pub_sub_same_connection(nc):
    sub = await nc.subscribe("ps.same")
    payloads = [f"msg-{i}".encode() for i in range(100)] + [b"", b"\x00\xff\r\nbinary\r\n", b"x" * 65536]
    for p in payloads:
        await nc.publish("ps.same", p)
    got = await collect(sub, len(payloads))
    assert [m.data for m in got] == payloads
    assert {m.subject for m in got} == {"ps.same"}
    assert all(m.reply == "" for m in got)
    await flush(nc)
    assert sub.pending_msgs == 0


async def test_pub_sub_across_connections(connect):
    sub_nc = await connect()
    pub_nc = await connect()
    sub = await sub_nc.subscribe("ps.cross")
    await flush(sub_nc)  # the SUB is processed before anyone publishes
    for i in range(500):
        await pub_nc.publish("ps.cross", f"{i}".encode())
    await pub_nc.publish("ps.cross", b"with-reply", reply="ps.reply.to")
    got = await collect(sub, 501)
    assert [m.data for m in got[:500]] == [f"{i}".encode() for i in range(500)]
    assert (got[500].data, got[500].reply) == (b"with-reply", "ps.reply.to")
    await flush(pub_nc)
    await flush(sub_nc)
    assert sub.pending_msgs == 0


async def test_unsubscribe_stops_delivery(nc):
    sub = await nc.subscribe("ps.unsub")
    sentinel = await nc.subscribe("ps.unsub.end")
    await nc.publish("ps.unsub", b"1")
    assert (await sub.next_msg(timeout=T)).data == b"1"
    await sub.unsubscribe()
    await nc.publish("ps.unsub", b"2")
    await nc.publish("ps.unsub.end", b"")
    await sentinel.next_msg(timeout=T)
    assert sub.pending_msgs == 0


# --------------------------------------------------------------------------- wildcards


async def test_wildcards(nc):
    star = await nc.subscribe("wc.*")
    gt = await nc.subscribe("wc.>")
    mid = await nc.subscribe("wc.*.z")
    both = await nc.subscribe("*.a.>")
    subjects = ["wc", "wc.a", "wc.a.b", "wc.b", "wc.a.z", "wc.a.b.z", "wc.q.z", "wcx.a", "other.a", "x.a.b.c", "x.a"]
    for s in subjects:
        await nc.publish(s, s.encode())
    # One subject every subscription matches: once it arrives everywhere,
    # whatever was going to be delivered has been.
    sentinel = "wc.a.end"
    await nc.publish(sentinel, b"")
    assert await collect_through(gt, sentinel) == ["wc.a", "wc.a.b", "wc.b", "wc.a.z", "wc.a.b.z", "wc.q.z", sentinel]
    # `*` matches exactly one token: "wc.a.end" has three, so use a second sentinel for it.
    await nc.publish("wc.end", b"")
    assert await collect_through(star, "wc.end") == ["wc.a", "wc.b", "wc.end"]
    await nc.publish("wc.end.z", b"")
    assert await collect_through(mid, "wc.end.z") == ["wc.a.z", "wc.q.z", "wc.end.z"]
    assert await collect_through(both, sentinel) == ["wc.a.b", "wc.a.z", "wc.a.b.z", "x.a.b.c", sentinel]
    await flush(nc)
    msg_data = {m.subject: m.data for m in drain_pending(gt)}
    assert msg_data == {"wc.end": b"", "wc.end.z": b""}


async def test_wildcard_and_literal_overlap_deliver_once_per_subscription(nc):
    subs = [await nc.subscribe(s) for s in ("ov.a.b", "ov.*.b", "ov.>", "ov.a.*")]
    await nc.publish("ov.a.b", b"one")
    for sub in subs:
        msg = await sub.next_msg(timeout=T)
        assert (msg.subject, msg.data) == ("ov.a.b", b"one")
    await flush(nc)
    assert [s.pending_msgs for s in subs] == [0, 0, 0, 0]


# --------------------------------------------------------------------------- queue groups


async def test_queue_group_spreads_load(connect):
    n = 300
    members = []
    for _ in range(3):
        c = await connect()
        members.append((c, await c.subscribe("qg.work", queue="workers")))
    watcher_nc = await connect()
    watcher = await watcher_nc.subscribe("qg.work")  # plain subscriber: sees everything
    for c, _ in members:
        await flush(c)
    await flush(watcher_nc)

    pub = await connect()
    for i in range(n):
        await pub.publish("qg.work", f"{i}".encode())
    await flush(pub)  # every message has been routed...
    counts = []
    received = []
    for c, sub in members:
        await flush(c)  # ...and has reached this member
        got = drain_pending(sub)
        counts.append(len(got))
        received += [m.data for m in got]

    assert sum(counts) == n, counts
    assert all(k > 0 for k in counts), f"a member got nothing: {counts}"
    assert sorted(received, key=int) == [f"{i}".encode() for i in range(n)]  # each exactly once
    assert [m.data for m in await collect(watcher, n)] == [f"{i}".encode() for i in range(n)]


async def test_queue_groups_are_independent(nc):
    a1 = await nc.subscribe("qg.multi", queue="a")
    a2 = await nc.subscribe("qg.multi", queue="a")
    b1 = await nc.subscribe("qg.multi", queue="b")
    for i in range(50):
        await nc.publish("qg.multi", b"x")
    await flush(nc)
    assert a1.pending_msgs + a2.pending_msgs == 50
    assert b1.pending_msgs == 50


# --------------------------------------------------------------------------- request/reply


async def test_request_reply(connect):
    responder = await connect()
    requester = await connect()
    seen = []

    async def handler(msg):
        seen.append(msg.data)
        await msg.respond(b"echo:" + msg.data)

    await responder.subscribe("rr.echo", cb=handler)
    await flush(responder)
    for i in range(20):
        resp = await requester.request("rr.echo", f"q{i}".encode(), timeout=T)
        assert resp.data == f"echo:q{i}".encode()
    assert seen == [f"q{i}".encode() for i in range(20)]


async def test_request_reply_queue_group_answers_once(connect):
    responders = [await connect() for _ in range(3)]
    calls = []
    for idx, r in enumerate(responders):

        async def handler(msg, idx=idx):
            calls.append(idx)
            await msg.respond(f"from-{idx}".encode())

        await r.subscribe("rr.svc", queue="svc", cb=handler)
        await flush(r)
    requester = await connect()
    answers = [await requester.request("rr.svc", b"", timeout=T) for _ in range(30)]
    assert len(calls) == 30
    assert [a.data for a in answers] == [f"from-{i}".encode() for i in calls]


async def test_publish_with_reply_subject_manual_inbox(nc):
    inbox = nc.new_inbox()
    replies = await nc.subscribe(inbox)

    async def handler(msg):
        await nc.publish(msg.reply, msg.data.upper())

    await nc.subscribe("rr.manual", cb=handler)
    await nc.publish("rr.manual", b"shout", reply=inbox)
    msg = await replies.next_msg(timeout=T)
    assert (msg.subject, msg.data) == (inbox, b"SHOUT")


# --------------------------------------------------------------------------- headers


HEADERS = {
    "X-Test": "yes",
    "X-Number": "42",
    "X-Spaces": "a value with spaces",
    "X-Colon": "k:v:w",
    "Mixed-Case-Key": "Case Preserved",
}


async def test_headers_round_trip(connect):
    sub_nc = await connect()
    pub_nc = await connect()
    sub = await sub_nc.subscribe("hdr.t")
    await flush(sub_nc)
    await pub_nc.publish("hdr.t", b"body", headers=HEADERS)
    await pub_nc.publish("hdr.t", b"", headers={"X-Only": "headers"})
    await pub_nc.publish("hdr.t", b"plain")
    m1, m2, m3 = await collect(sub, 3)
    assert (m1.data, m1.headers) == (b"body", HEADERS)
    assert (m2.data, m2.headers) == (b"", {"X-Only": "headers"})
    assert (m3.data, m3.headers) == (b"plain", None)


async def test_headers_in_request_and_response(connect):
    responder = await connect()

    async def handler(msg):
        headers = {"X-Got": msg.headers["X-Req"], "X-Served-By": "py"}
        await responder.publish(msg.reply, msg.data[::-1], headers=headers)

    await responder.subscribe("hdr.svc", cb=handler)
    await flush(responder)
    requester = await connect()
    resp = await requester.request("hdr.svc", b"abc", timeout=T, headers={"X-Req": "r-1"})
    assert resp.data == b"cba"
    assert resp.headers == {"X-Got": "r-1", "X-Served-By": "py"}


async def test_headers_on_the_wire(server):
    """HPUB -> HMSG carries header and total sizes exactly."""
    c = RawClient(server.port)
    try:
        assert c.info["headers"] is True
        c.connect()
        c.send(b"SUB hdr.raw 7\r\n")
        hdr = b"NATS/1.0\r\nX-A: 1\r\n\r\n"
        c.send(b"HPUB hdr.raw %d %d\r\n%shello\r\nPING\r\n" % (len(hdr), len(hdr) + 5, hdr))
        assert c.read_line() == b"HMSG hdr.raw 7 %d %d" % (len(hdr), len(hdr) + 5)
        assert c.read_exact(len(hdr) + 5 + 2) == hdr + b"hello\r\n"
        assert c.read_line() == b"PONG"
    finally:
        c.close()


# --------------------------------------------------------------------------- no responders


async def test_no_responders(nc):
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(NoRespondersError):
        await nc.request("nobody.home", b"anyone?", timeout=T)
    # The server answers at once (a 503 status), well before the timeout.
    assert loop.time() - started < T / 2


async def test_no_responders_is_not_a_timeout_when_subscriber_is_silent(nc):
    await nc.subscribe("silent.svc")  # interest, but never replies
    with pytest.raises(NatsTimeoutError) as e:
        await nc.request("silent.svc", b"", timeout=0.3)
    assert not isinstance(e.value, NoRespondersError)


async def test_no_responders_status_on_the_wire(server):
    c = RawClient(server.port)
    try:
        c.connect(no_responders=True, headers=True)
        c.send(b"SUB _INBOX.raw.* 1\r\nPUB nobody.raw _INBOX.raw.1 2\r\nhi\r\nPING\r\n")
        line = c.read_line()
        parts = line.split(b" ")
        assert parts[:3] == [b"HMSG", b"_INBOX.raw.1", b"1"] and len(parts) == 5, line
        hdr_len, total = int(parts[-2]), int(parts[-1])
        block = c.read_exact(total + 2)
        assert hdr_len == total  # no payload
        assert block.startswith(b"NATS/1.0 503")
        assert c.read_line() == b"PONG"
    finally:
        c.close()


# --------------------------------------------------------------------------- auto-unsubscribe


async def test_auto_unsubscribe_max_msgs(nc):
    limited = await nc.subscribe("au.t", max_msgs=3)
    everything = await nc.subscribe("au.t")
    for i in range(6):
        await nc.publish("au.t", f"{i}".encode())
    # `everything` seeing all six means all were routed to `limited` as well.
    assert [m.data for m in await collect(everything, 6)] == [f"{i}".encode() for i in range(6)]
    assert [m.data for m in await collect(limited, 3)] == [b"0", b"1", b"2"]
    await flush(nc)
    assert limited.pending_msgs == 0
    assert limited.delivered == 3


async def test_auto_unsubscribe_on_the_wire(server):
    """UNSUB <sid> <max>: the server itself stops after max messages."""
    c = RawClient(server.port)
    try:
        c.connect()
        c.send(b"SUB au.raw 9\r\nUNSUB 9 3\r\n")
        c.send(b"".join(b"PUB au.raw 2\r\nm%d\r\n" % i for i in range(5)) + b"PING\r\n")
        got = [c.read_msg() for _ in range(3)]
        assert got == [("au.raw", "9", None, b"m%d" % i) for i in range(3)]
        assert c.read_line() == b"PONG"  # and nothing else before it
        # The subscription is gone for good, not just paused.
        c.send(b"PUB au.raw 5\r\nlater\r\nPING\r\n")
        assert c.read_line() == b"PONG"
    finally:
        c.close()


async def test_auto_unsubscribe_after_some_messages(nc):
    sub = await nc.subscribe("au.later")
    await nc.publish("au.later", b"a")
    await nc.publish("au.later", b"b")
    assert [m.data for m in await collect(sub, 2)] == [b"a", b"b"]
    await sub.unsubscribe(limit=3)  # 2 already delivered: one more
    end = await nc.subscribe("au.later.end")
    for p in (b"c", b"d", b"e"):
        await nc.publish("au.later", p)
    await nc.publish("au.later.end", b"")
    await end.next_msg(timeout=T)
    assert [m.data for m in await collect(sub, 1)] == [b"c"]
    assert sub.pending_msgs == 0


# --------------------------------------------------------------------------- echo


async def test_no_echo(connect):
    quiet = await connect(no_echo=True)
    loud = await connect()
    quiet_sub = await quiet.subscribe("echo.t")
    loud_sub = await loud.subscribe("echo.t")
    await flush(quiet)
    await flush(loud)

    await quiet.publish("echo.t", b"from-quiet")
    await flush(quiet)  # routed before loud publishes
    await loud.publish("echo.t", b"from-loud")
    await flush(loud)
    await flush(quiet)

    assert [m.data for m in drain_pending(quiet_sub)] == [b"from-loud"]
    assert [m.data for m in await collect(loud_sub, 2)] == [b"from-quiet", b"from-loud"]


async def test_echo_is_default(nc):
    sub = await nc.subscribe("echo.default")
    await nc.publish("echo.default", b"me")
    assert (await sub.next_msg(timeout=T)).data == b"me"


async def test_no_echo_still_receives_replies_to_own_requests(connect):
    """no_echo only suppresses a connection's own publishes; it can still be
    served by other connections, and serve requests from them."""
    quiet = await connect(no_echo=True)
    other = await connect()

    async def handler(msg):
        await msg.respond(b"pong")

    await other.subscribe("echo.svc", cb=handler)
    await flush(other)
    resp = await wait_for(quiet.request("echo.svc", b"ping", timeout=T), T + 1, "reply")
    assert resp.data == b"pong"
