"""TLS and nkey authentication through nats-py, plus the raw bytes a client
that does not speak TLS sees (checked against the reference too, with
``make test-ref``).

Certificates come from a CA made at test time with the ``openssl`` command.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import time
from pathlib import Path

import nats
import nkeys
import pytest
from nats.errors import AuthorizationError

from natsharness import HOST, NatsServer, error_recorder, flush

T = 5.0


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """A CA plus server and client certificates (EC P-256) in ``dir``."""

    def __init__(self, dir: Path):
        self.dir = dir
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=rnats py CA",
                 cwd=dir)
        self.ca = dir / "ca.pem"
        self.server = self.issue("server", "/CN=server", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        self.alice = self.issue("alice", "/C=US/O=Acme/OU=eng/CN=alice", "extendedKeyUsage=clientAuth")
        self.bob = self.issue("bob", "/CN=bob", "subjectAltName=email:bob@example.com\nextendedKeyUsage=clientAuth")
        self.carol = self.issue("carol", "/CN=carol", "extendedKeyUsage=clientAuth")

    def issue(self, name: str, subject: str, ext: str) -> tuple[Path, Path]:
        (self.dir / f"{name}.ext").write_text(ext + "\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", subject, cwd=self.dir)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
                 cwd=self.dir)
        return self.dir / f"{name}.pem", self.dir / f"{name}-key.pem"

    def tls_block(self, extra: str = "") -> str:
        cert, key = self.server
        return f'tls {{\n  cert_file: "{cert}"\n  key_file: "{key}"\n  {extra}\n}}\n'

    def context(self, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if client is not None:
            ctx.load_cert_chain(str(client[0]), str(client[1]))
        return ctx


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def start(tmp_path):
    servers: list[NatsServer] = []

    def _start(config: str) -> NatsServer:
        s = NatsServer(tmp_path / f"s{len(servers)}", name=f"s{len(servers)}", config=config)
        s.start()
        servers.append(s)
        return s

    yield _start
    for s in servers:
        s.stop()


async def round_trip(nc, subject: str) -> None:
    sub = await nc.subscribe(subject)
    await flush(nc)
    await nc.publish(subject, b"hi")
    msg = await sub.next_msg(timeout=T)
    assert msg.data == b"hi"


async def connect(url: str, **kw):
    return await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0,
                              connect_timeout=3, error_cb=error_recorder(), **kw)


async def refused(url: str, **kw) -> Exception:
    with pytest.raises(Exception) as e:
        nc = await connect(url, **kw)
        await nc.close()
    return e.value


def is_auth_violation(err: Exception) -> bool:
    """nats-py reports -ERR 'Authorization Violation' during connect as
    ``Error("nats: 'Authorization Violation'")`` (``AuthorizationError`` later)."""
    return isinstance(err, AuthorizationError) or "Authorization Violation" in str(err)


def read_until_close(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (True) or ``timeout`` passes."""
    sock.settimeout(0.05)
    out, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return out, True
        if not chunk:
            return out, True
        out += chunk
    return out, False


def read_info(sock: socket.socket) -> dict:
    buf = b""
    sock.settimeout(T)
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        assert chunk, "closed before INFO"
        buf += chunk
    line, rest = buf.split(b"\r\n", 1)
    assert line.startswith(b"INFO ") and line.endswith(b" "), line
    assert rest == b"", rest
    return json.loads(line[5:])


async def test_tls_with_ca(pki, start):
    s = start(pki.tls_block())
    nc = await connect(s.url, tls=pki.context())
    await round_trip(nc, "tls.basic")
    await nc.close()


def test_tls_info_and_plaintext_client_is_dropped_silently(pki, start):
    s = start(pki.tls_block("verify: true\n  ca_file: \"%s\"" % pki.ca))
    with socket.create_connection((HOST, s.port)) as sock:
        info = read_info(sock)
        assert info["tls_required"] is True and info["tls_verify"] is True
        keys = list(info)
        assert keys.index("headers") < keys.index("tls_required") < keys.index("tls_verify") < keys.index("max_payload")
        sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        data, closed = read_until_close(sock, T)
    # nats-server closes without a byte: no -ERR, no TLS alert.
    assert (data, closed) == (b"", True)


def test_tls_handshake_timeout_closes_without_error(pki, start):
    s = start(pki.tls_block("timeout: 0.5"))
    with socket.create_connection((HOST, s.port)) as sock:
        read_info(sock)
        began = time.monotonic()
        data, closed = read_until_close(sock, T)
        waited = time.monotonic() - began
    # The queued "-ERR 'Secure Connection - TLS Required'" never reaches a client.
    assert (data, closed) == (b"", True)
    assert 0.3 < waited < 3.0, waited


def test_tls_first_sends_no_plaintext_info(pki, start):
    s = start(pki.tls_block("handshake_first: true\n  timeout: 0.5"))
    with socket.create_connection((HOST, s.port)) as sock:
        data, closed = read_until_close(sock, T)
    assert (data, closed) == (b"", True)


async def test_tls_handshake_first_client(pki, start):
    s = start(pki.tls_block("handshake_first: true"))
    nc = await connect(f"tls://{HOST}:{s.port}", tls=pki.context(), tls_handshake_first=True)
    await round_trip(nc, "tls.first")
    await nc.close()


async def test_mutual_tls(pki, start):
    s = start(pki.tls_block(f'verify: true\n  ca_file: "{pki.ca}"'))
    nc = await connect(s.url, tls=pki.context(pki.alice))
    await round_trip(nc, "tls.mutual")
    await nc.close()
    await refused(s.url, tls=pki.context())


async def test_verify_and_map(pki, start):
    config = pki.tls_block(f'verify_and_map: true\n  ca_file: "{pki.ca}"') + (
        'authorization { users: [ {user: "CN=alice,OU=eng,O=Acme,C=US"}, {user: "bob@example.com"} ] }\n')
    s = start(config)
    for who in (pki.alice, pki.bob):
        nc = await connect(s.url, tls=pki.context(who))
        await round_trip(nc, "map.ok")
        await nc.close()
    err = await refused(s.url, tls=pki.context(pki.carol))
    assert is_auth_violation(err), repr(err)


async def test_nkey_seed(start, tmp_path):
    kp = nkeys.from_seed(b"SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY")
    s = start("authorization { users: [ {nkey: %s} ] }\n" % kp.public_key.decode())
    with socket.create_connection((HOST, s.port)) as sock:
        info = read_info(sock)
    assert info["auth_required"] is True and len(info["nonce"]) == 15
    seed = tmp_path / "user.nk"
    seed.write_text("SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY\n")
    nc = await connect(s.url, nkeys_seed=str(seed))
    await round_trip(nc, "nkey.ok")
    await nc.close()
    other = "SUAF6UH5BFR7HN6SEJYVDYCDZ7BLNHADZKGQ7IWEYAKFNCC3PFTQJPLDRA"
    err = await refused(s.url, nkeys_seed_str=other)
    assert is_auth_violation(err), repr(err)


def test_nkey_bad_signature_gets_authorization_violation(start):
    kp = nkeys.from_seed(b"SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY")
    pub = kp.public_key.decode()
    s = start("authorization { users: [ {nkey: %s} ] }\n" % pub)
    with socket.create_connection((HOST, s.port)) as sock:
        info = read_info(sock)
        # A signature of something other than this connection's nonce.
        sig = kp.sign(b"not the nonce")
        connect = {"verbose": False, "nkey": pub, "sig": base64.urlsafe_b64encode(sig).decode().rstrip("=")}
        assert info["nonce"] != "not the nonce"
        sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        data, closed = read_until_close(sock, T)
    assert (data, closed) == (b"-ERR 'Authorization Violation'\r\n", True)
