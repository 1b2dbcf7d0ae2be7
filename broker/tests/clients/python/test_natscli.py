"""natscli (the `nats` command, Go client) against the server under test.

The binary comes from scripts/test-deps.sh ($HOME/.cache/rnats/bin/nats, or
NATS_CLI to override). Every run gets an empty HOME/XDG dirs, no NATS_*
variables and --no-context, so no user configuration or context leaks in.
"""

from __future__ import annotations

import asyncio
import csv
import os
from pathlib import Path

import pytest

from natsharness import flush, free_port, wait_for, wait_for_interest

NATS_CLI = os.environ.get("NATS_CLI") or str(Path.home() / ".cache" / "rnats" / "bin" / "nats")
T = 20.0

pytestmark = pytest.mark.skipif(
    not os.access(NATS_CLI, os.X_OK),
    reason=f"natscli not installed at {NATS_CLI} (run scripts/test-deps.sh)",
)


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory):
    return tmp_path_factory.mktemp("natscli-home")


@pytest.fixture
def cli(server, cli_home):
    """Runs `nats` with an isolated environment against the shared server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env.update(
        HOME=str(cli_home),
        XDG_CONFIG_HOME=str(cli_home / ".config"),
        XDG_DATA_HOME=str(cli_home / ".local" / "share"),
        XDG_CACHE_HOME=str(cli_home / ".cache"),
        NO_COLOR="1",
    )

    def argv(*args, url: str | None = None) -> list[str]:
        return [NATS_CLI, "--no-context", "--server", url or server.url, *args]

    async def spawn(*args, url: str | None = None):
        return await asyncio.create_subprocess_exec(
            *argv(*args, url=url),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def finish(proc, timeout: float = T) -> tuple[int, str, str]:
        try:
            out, err = await wait_for(proc.communicate(), timeout, f"natscli pid {proc.pid} to exit")
        except TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
            raise AssertionError(f"natscli did not exit:\nstdout:\n{out.decode()}\nstderr:\n{err.decode()}")
        return proc.returncode, out.decode(), err.decode()

    async def run(*args, url: str | None = None, timeout: float = T) -> tuple[int, str, str]:
        return await finish(await spawn(*args, url=url), timeout)

    class Cli:
        pass

    c = Cli()
    c.spawn, c.finish, c.run = spawn, finish, run
    return c


async def test_version(cli):
    rc, out, err = await cli.run("--version")
    assert rc == 0
    assert "0.5.1" in out + err


async def test_nats_pub(cli, connect):
    nc = await connect()
    sub = await nc.subscribe("cli.pub")
    await flush(nc)
    rc, _out, err = await cli.run("pub", "cli.pub", "hello {{Count}}", "--count", "3", "-H", "X-Src:natscli")
    assert rc == 0, err
    got = [await sub.next_msg(timeout=T) for _ in range(3)]
    assert [m.data for m in got] == [b"hello 1", b"hello 2", b"hello 3"]
    assert all(m.headers == {"X-Src": "natscli"} for m in got)
    await flush(nc)
    assert sub.pending_msgs == 0


async def test_nats_sub_count(cli, connect):
    proc = await cli.spawn("sub", "cli.sub", "--count", "4", "--raw")
    nc = await connect()
    # The probe is the first of the 4 counted messages.
    await wait_for_interest(nc, "cli.sub", probe=b"probe")
    for word in ("one", "two", "three", "four", "five"):
        await nc.publish("cli.sub", word.encode())
    await flush(nc)
    rc, out, err = await cli.finish(proc)
    assert rc == 0, err
    assert out.splitlines() == ["probe", "one", "two", "three"]


async def test_nats_req_reply(cli, connect):
    reply = await cli.spawn("reply", "cli.svc", "pong", "--count", "2")
    nc = await connect()
    # The probe request is answered by `nats reply` and is the first of its 2.
    assert await wait_for_interest(nc, "cli.svc", probe=b"probe") is True
    rc, out, err = await cli.run("req", "cli.svc", "hello", "--raw")
    assert rc == 0, err
    assert out.strip() == "pong"
    # `nats reply --count` quits by itself after 2 requests; v0.5.1 always
    # ends with log.Fatalf("Exiting"), so its exit status is 1 by design.
    rc, out, err = await cli.finish(reply)
    assert "Exiting" in err, err
    assert err.count('Received on subject "cli.svc"') == 2, err
    assert [line for line in out.splitlines() if line.strip()] == ["probe", "hello"]


async def test_nats_req_no_responders(cli):
    loop = asyncio.get_running_loop()
    started = loop.time()
    _rc, out, err = await cli.run("req", "cli.nobody", "x", "--timeout", "5s")
    # natscli v0.5.1 reports this on stderr but exits 0.
    assert "No responders are available" in err, out + err
    assert loop.time() - started < 4, "answered by the server, not by the 5s timeout"


async def test_nats_bench_pub_sub(cli, connect, tmp_path):
    msgs = 5000
    sub_csv, pub_csv = tmp_path / "sub.csv", tmp_path / "pub.csv"
    # bench sub counts the readiness probe too, so it waits for msgs + 1.
    sub = await cli.spawn(
        "bench", "sub", "cli.bench", "--msgs", str(msgs + 1), "--size", "64", "--no-progress", "--csv", str(sub_csv)
    )
    nc = await connect()
    await wait_for_interest(nc, "cli.bench")
    rc, out, err = await cli.run(
        "bench", "pub", "cli.bench", "--msgs", str(msgs), "--size", "64", "--no-progress", "--csv", str(pub_csv)
    )
    assert rc == 0, err
    assert "Core NATS publisher stats" in out, out
    rc, out, err = await cli.finish(sub)
    assert rc == 0, err
    assert "Core NATS subscriber stats" in out, out
    assert f"msgs={msgs + 1:,}" in err, err

    def csv_counts(path: Path) -> list[int]:
        rows = list(csv.DictReader(path.read_text().splitlines()))
        return [int(r["MsgCount"]) for r in rows]

    assert csv_counts(pub_csv) == [msgs]
    assert csv_counts(sub_csv) == [msgs + 1]


async def test_nats_server_check_connection(cli):
    rc, out, err = await cli.run("server", "check", "connection")
    assert rc == 0, out + err
    assert out.startswith("OK Connection OK:connected to "), out


async def test_nats_server_check_connection_fails_without_server(cli):
    rc, out, err = await cli.run(
        "server",
        "check",
        "connection",
        "--connect-warn",
        "1s",
        "--connect-critical",
        "2s",
        url=f"nats://127.0.0.1:{free_port()}",
    )
    assert rc != 0
    assert "CRITICAL" in out + err
