"""Lame duck mode (SIGUSR2): nats-py is moved to the next server in its list."""

from __future__ import annotations

import asyncio
import signal

import nats

from natsharness import error_recorder, flush, wait_for

T = 15.0
LDM_CONFIG = 'lame_duck_duration: "30s"\nlame_duck_grace_period: "1s"\n'


async def test_lame_duck_moves_client_to_next_server(server_factory):
    a = server_factory(config=LDM_CONFIG, name="ldm-a")
    b = server_factory(name="ldm-b")
    reconnected = asyncio.Event()

    async def on_reconnect():
        reconnected.set()

    nc = await nats.connect(
        servers=[a.url, b.url],
        dont_randomize=True,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        reconnected_cb=on_reconnect,
        error_cb=error_recorder(),
    )
    other = await nats.connect(b.url)
    try:
        assert nc.connected_url.port == a.port
        sub = await nc.subscribe("ldm.moved")
        await flush(nc)

        a.proc.send_signal(signal.SIGUSR2)
        await wait_for(reconnected.wait(), T, "the client to reconnect after lame duck")
        assert nc.connected_url.port == b.port

        async def delivered():
            while True:
                await other.publish("ldm.moved", b"hello")
                await flush(other)
                try:
                    return await sub.next_msg(timeout=0.2)
                except nats.errors.TimeoutError:
                    continue

        msg = await wait_for(delivered(), T, "the subscription to work on the second server")
        assert msg.data == b"hello"
    finally:
        await other.close()
        await nc.close()
