"""Process and wire helpers shared by the Python client suites.

The server under test is the binary named by ``NATS_TEST_SERVER``; it must
accept nats-server's flags ``-a HOST -p PORT [-c FILE]``. Each ``NatsServer``
runs it on a free loopback port and waits for readiness by polling a TCP
connect with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

SERVER_ENV = "NATS_TEST_SERVER"
HOST = "127.0.0.1"
START_TIMEOUT = 10.0
POLL_INTERVAL = 0.01


def server_binary() -> str:
    path = os.environ.get(SERVER_ENV, "")
    if not path:
        raise RuntimeError(
            f"{SERVER_ENV} is not set: point it at the server binary under test "
            "(e.g. target/debug/rnats-server, or .venv/bin/nats-server for the reference)"
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(f"{SERVER_ENV}={path} is not an executable file")
    return path


def free_port() -> int:
    """A loopback port that was free a moment ago (the kernel picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``cond`` until it holds; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


async def async_wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


class NatsServer:
    """One server process on a fixed port; can be stopped and started again."""

    def __init__(self, workdir: Path, name: str = "server", config: str | None = None):
        self.binary = server_binary()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.config_path: Path | None = None
        if config is not None:
            self.config_path = self.workdir / f"{name}.conf"
            self.config_path.write_text(config)
        self.log_path = self.workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def argv(self) -> list[str]:
        argv = [self.binary, "-a", HOST, "-p", str(self.port)]
        if self.config_path is not None:
            argv += ["-c", str(self.config_path)]
        return argv

    def start(self, timeout: float = START_TIMEOUT) -> NatsServer:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"=== start #{self.starts}: {' '.join(self.argv())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} during startup:\n{self.log_tail()}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"server not accepting on {HOST}:{self.port} after {timeout}s:\n{self.log_tail()}")
            time.sleep(POLL_INTERVAL)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class RawClient:
    """A bare TCP connection speaking the NATS text protocol, for wire checks."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        line = self._read_raw_line()
        assert line.startswith(b"INFO "), line
        self.info = json.loads(line[5:])
        self.later_infos: list[dict] = []

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def connect(self, **opts) -> None:
        """CONNECT then PING, and wait for the PONG."""
        options = {"verbose": False, "pedantic": False, "protocol": 1, "headers": True}
        options.update(opts)
        self.send(b"CONNECT " + json.dumps(options).encode() + b"\r\nPING\r\n")
        assert self.read_line() == b"PONG"
        # nats-server 2.15 follows the first PONG with an INFO update; a second
        # round trip consumes it (read_line skips INFO) so tests that read
        # "everything until close" see only what they caused.
        self.send(b"PING\r\n")
        assert self.read_line() == b"PONG"

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_line(self) -> bytes:
        """The next protocol line, skipping asynchronous INFO updates (a server
        may send INFO at any time; nats-server 2.15 sends one right after
        CONNECT). Skipped ones are kept in ``later_infos``."""
        while True:
            line = self._read_raw_line()
            if not line.startswith(b"INFO "):
                return line
            self.later_infos.append(json.loads(line[5:]))

    def _read_raw_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise EOFError(f"connection closed; unparsed: {self.buf!r}")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"connection closed; wanted {n} bytes, have {self.buf!r}")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_msg(self) -> tuple[str, str, str | None, bytes]:
        """Reads one MSG frame: (subject, sid, reply, payload)."""
        line = self.read_line()
        parts = line.split(b" ")
        assert parts[0] == b"MSG", line
        if len(parts) == 4:
            _, subject, sid, size = parts
            reply = None
        else:
            _, subject, sid, reply_b, size = parts
            reply = reply_b.decode()
        payload = self.read_exact(int(size))
        assert self.read_exact(2) == b"\r\n"
        return subject.decode(), sid.decode(), reply, payload

    def read_until_eof(self, timeout: float = 3.0) -> bytes:
        """Everything the server sends until it closes the connection; raises
        TimeoutError if it is still open after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"connection still open after {timeout}s; got {self.buf!r}")
                self.sock.settimeout(left)
                try:
                    if not self._fill():
                        break
                except TimeoutError:
                    raise TimeoutError(f"connection still open after {timeout}s; got {self.buf!r}") from None
        except ConnectionResetError:
            pass
        data, self.buf = self.buf, b""
        return data


async def wait_for_interest(nc, subject: str, timeout: float = 10.0, probe: bytes = b"probe") -> bool:
    """Wait until some other client subscribes to ``subject``.

    Core NATS has no way to list another client's subscriptions, but a request
    to a subject without subscribers gets an immediate no-responders status.
    So probe with requests until one is *not* answered with no-responders.
    Exactly one probe message (payload ``probe``) reaches the subscriber.
    Returns True if that probe was replied to, False if it timed out.
    """
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeoutError

    deadline = time.monotonic() + timeout
    while True:
        try:
            await nc.request(subject, probe, timeout=0.5)
            return True
        except NoRespondersError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nobody subscribed to {subject!r} within {timeout}s")
            await asyncio.sleep(POLL_INTERVAL)
        except NatsTimeoutError:
            return False


def error_recorder(errors: list | None = None):
    """An error_cb (nats-py insists on a coroutine function) that records
    asynchronous client errors instead of logging them."""
    errors = [] if errors is None else errors

    async def error_cb(e: Exception) -> None:
        errors.append(e)

    error_cb.errors = errors
    return error_cb


async def flush(nc, timeout: float = 5.0) -> None:
    """A PING/PONG round trip ordered after everything queued before it.

    nats-py's own ``flush()`` (2.16.0, and earlier 2.x) writes its PING to the
    socket directly, ahead of SUB/PUB commands still in the client's pending
    buffer, so its PONG proves nothing about them. Push the pending buffer
    out first, then ping.
    """
    await nc._flush_pending(force_flush=True)
    await nc.flush(timeout=timeout)


async def wait_for(awaitable: Awaitable, timeout: float, what: str):
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from None
