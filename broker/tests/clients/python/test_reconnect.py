"""A client survives a server restart on the same port."""

from __future__ import annotations

import asyncio

import nats

from natsharness import error_recorder, flush, wait_for

T = 10.0


async def test_reconnect_after_server_restart(server_factory):
    server = server_factory(name="restart")
    disconnected, reconnected = asyncio.Event(), asyncio.Event()

    async def on_disconnect():
        disconnected.set()

    async def on_reconnect():
        reconnected.set()

    nc = await nats.connect(
        server.url,
        connect_timeout=2,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=error_recorder(),
    )
    try:
        sub = await nc.subscribe("re.t")
        await nc.publish("re.t", b"before")
        assert (await sub.next_msg(timeout=T)).data == b"before"

        server.stop()
        await wait_for(disconnected.wait(), T, "the client to notice the server went away")
        assert not reconnected.is_set()

        server.start()
        await wait_for(reconnected.wait(), T, "the client to reconnect")
        assert nc.is_connected
        assert nc.stats["reconnects"] == 1

        # The old subscription was replayed on the new connection...
        await nc.publish("re.t", b"after")
        assert (await sub.next_msg(timeout=T)).data == b"after"
        # ...and new ones work, from another client too.
        other = await nats.connect(server.url, allow_reconnect=False, error_cb=error_recorder())
        try:
            sub2 = await nc.subscribe("re.t2")
            await flush(nc)
            await other.publish("re.t", b"from-other")
            await other.publish("re.t2", b"new-sub")
            await flush(other)
            assert (await sub.next_msg(timeout=T)).data == b"from-other"
            assert (await sub2.next_msg(timeout=T)).data == b"new-sub"
        finally:
            await other.close()
    finally:
        await nc.close()
