#!/usr/bin/env python3
"""The machine's loopback round-trip floor, with no server in between.

A synchronous request/reply through a NATS server crosses loopback four times (requester to
server, server to responder, and back), each crossing waking a sleeping process. This script
times the same kind of crossing without a server: an echo process and a client exchange
16-byte messages over TCP loopback, one in flight, and it prints p50/p90/p99 of the round
trip (two crossings). Twice its p50 is roughly the least any server can reach in
`rnats-bench reqrep`; docs/PERFORMANCE.md compares the two.

    python3 scripts/latency_floor.py [round trips, default 20000] [--pin]

--pin puts the echo process on core 0 and the client on core 1, as `make bench`'s pinned
variant does with the server and the client.
"""

import os
import socket
import sys
import time

MSG = b"x" * 16


def echo(listener, cpu):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(64)
        if not data:
            return
        conn.sendall(data)


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    pin = "--pin" in sys.argv
    rounds = int(args[0]) if args else 20000
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    child = os.fork()
    if child == 0:
        echo(listener, 0 if pin else None)
        os._exit(0)
    if pin:
        os.sched_setaffinity(0, {1})
    client = socket.create_connection(listener.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for i in range(rounds + 1000):
        start = time.perf_counter_ns()
        client.sendall(MSG)
        got = 0
        while got < len(MSG):
            got += len(client.recv(64))
        if i >= 1000:  # the first 1,000 warm up, as in rnats-bench reqrep
            samples.append(time.perf_counter_ns() - start)
    client.close()
    os.waitpid(child, 0)
    samples.sort()
    us = {p: percentile(samples, p) / 1000 for p in (0.5, 0.9, 0.99)}
    print(f"loopback round trip ({rounds} exchanges of 16 B{', pinned' if pin else ''}): "
          f"p50 {us[0.5]:.0f} µs, p90 {us[0.9]:.0f} µs, p99 {us[0.99]:.0f} µs")


if __name__ == "__main__":
    main()
