"""max_payload set from a config file."""

from __future__ import annotations

import pytest
from nats.errors import MaxPayloadError

from natsharness import RawClient

MAX_PAYLOAD = 1024


@pytest.fixture
def small_server(server_factory):
    return server_factory(config=f"max_payload: {MAX_PAYLOAD}\n", name="maxpayload")


async def test_client_sees_max_payload_and_refuses_bigger(small_server, connect):
    nc = await connect(small_server.url)
    assert nc.max_payload == MAX_PAYLOAD
    sub = await nc.subscribe("mp.t")
    await nc.publish("mp.t", b"a" * MAX_PAYLOAD)  # exactly the limit is fine
    assert (await sub.next_msg(timeout=5)).data == b"a" * MAX_PAYLOAD
    with pytest.raises(MaxPayloadError):
        await nc.publish("mp.t", b"b" * 2000)
    # The client refused locally; the connection is still good.
    await nc.publish("mp.t", b"after")
    assert (await sub.next_msg(timeout=5)).data == b"after"
    assert nc.is_connected


def test_info_advertises_max_payload(small_server):
    c = RawClient(small_server.port)
    try:
        assert c.info["max_payload"] == MAX_PAYLOAD
    finally:
        c.close()


def test_raw_pub_over_max_payload_gets_error_and_close(small_server):
    c = RawClient(small_server.port)
    try:
        c.connect()
        c.send(b"PUB mp.raw 2000\r\n")
        # The server judges the size from the PUB line: it answers and hangs
        # up without waiting for the payload.
        data = c.read_until_eof()
        assert data == b"-ERR 'Maximum Payload Violation'\r\n"
    finally:
        c.close()


def test_raw_pub_over_max_payload_with_payload_sent(small_server):
    """Same, with the 2000 payload bytes already on the way."""
    c = RawClient(small_server.port)
    try:
        c.connect()
        try:
            c.send(b"PUB mp.raw 2000\r\n" + b"z" * 2000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.read_until_eof() == b"-ERR 'Maximum Payload Violation'\r\n"
    finally:
        c.close()


def test_raw_pub_at_max_payload_is_delivered(small_server):
    c = RawClient(small_server.port)
    try:
        c.connect()
        c.send(b"SUB mp.ok 1\r\nPUB mp.ok %d\r\n%s\r\nPING\r\n" % (MAX_PAYLOAD, b"k" * MAX_PAYLOAD))
        assert c.read_msg() == ("mp.ok", "1", None, b"k" * MAX_PAYLOAD)
        assert c.read_line() == b"PONG"
    finally:
        c.close()
