// Process and wire helpers for the nats.js suites.
//
// The server under test is the binary named by NATS_TEST_SERVER; it must
// accept nats-server's flags `-a HOST -p PORT [-c FILE]`. Each NatsServer runs
// it on a free loopback port and waits for readiness by polling a TCP connect
// with a deadline. Nothing here sleeps to wait for a result: every wait polls
// a condition until a deadline.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const SERVER_ENV = "NATS_TEST_SERVER";
const HOST = "127.0.0.1";
const POLL_MS = 10;

function serverBinary() {
  const bin = process.env[SERVER_ENV];
  if (!bin) {
    throw new Error(
      `${SERVER_ENV} is not set: point it at the server binary under test ` +
        "(e.g. target/debug/rnats-server, or .venv/bin/nats-server for the reference)",
    );
  }
  fs.accessSync(bin, fs.constants.X_OK);
  return bin;
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `cond` (sync or async) until truthy; reject after `timeoutMs`. */
async function waitUntil(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await delay(POLL_MS);
  }
}

/** Resolve `promise`, or reject after `timeoutMs`. */
async function within(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loopback port that was free a moment ago (the kernel picked it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

class NatsServer {
  /** @param {{config?: string, name?: string}} opts */
  constructor(opts = {}) {
    this.binary = serverBinary();
    this.name = opts.name || "server";
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `rnats-js-${this.name}-`));
    this.configPath = null;
    if (opts.config !== undefined) {
      this.configPath = path.join(this.dir, `${this.name}.conf`);
      fs.writeFileSync(this.configPath, opts.config);
    }
    this.logPath = path.join(this.dir, `${this.name}.log`);
    this.port = 0;
    this.proc = null;
    this.exited = null;
  }

  get url() {
    return `nats://${HOST}:${this.port}`;
  }

  argv() {
    const args = ["-a", HOST, "-p", String(this.port)];
    if (this.configPath) args.push("-c", this.configPath);
    return args;
  }

  running() {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(timeoutMs = 10000) {
    if (this.running()) throw new Error("already running");
    if (!this.port) this.port = await freePort();
    const log = fs.openSync(this.logPath, "a");
    fs.writeSync(log, `=== start: ${this.binary} ${this.argv().join(" ")}\n`);
    const proc = spawn(this.binary, this.argv(), { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running()) {
        throw new Error(`server exited (${proc.exitCode ?? proc.signalCode}) during startup:\n${this.logTail()}`);
      }
      if (await tryConnect(this.port)) return this;
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`server not accepting on ${HOST}:${this.port} after ${timeoutMs}ms:\n${this.logTail()}`);
      }
      await delay(POLL_MS);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 5000) {
    if (!this.running()) return;
    this.proc.kill("SIGTERM");
    try {
      await within(this.exited, timeoutMs, "server exit after SIGTERM");
    } catch {
      this.proc.kill("SIGKILL");
      await this.exited;
    }
  }

  logTail(lines = 40) {
    try {
      return fs.readFileSync(this.logPath, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  async cleanup() {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startServer(opts) {
  return new NatsServer(opts).start();
}

/** A bare TCP connection speaking the NATS text protocol, for wire checks. */
class RawClient {
  static async open(port, timeoutMs = 5000) {
    const c = new RawClient(port, timeoutMs);
    await within(
      new Promise((resolve, reject) => {
        c.sock.once("connect", resolve);
        c.sock.once("error", reject);
      }),
      timeoutMs,
      "raw connect",
    );
    const info = await c.readLine({ skipInfo: false });
    if (!info.startsWith("INFO ")) throw new Error(`expected INFO, got ${info}`);
    c.info = JSON.parse(info.slice(5));
    return c;
  }

  constructor(port, timeoutMs) {
    this.timeoutMs = timeoutMs;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.waiter = null;
    this.sock = net.connect({ host: HOST, port });
    this.sock.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    this.sock.on("error", () => {}); // a reset shows up as close
  }

  wake() {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }

  async more(what) {
    if (this.closed) throw new Error(`connection closed while waiting for ${what}; have ${JSON.stringify(this.buf.toString())}`);
    await within(new Promise((resolve) => (this.waiter = resolve)), this.timeoutMs, what);
  }

  send(data) {
    this.sock.write(data);
  }

  /** CONNECT, then two PING/PONG round trips (nats-server 2.15 sends an INFO
   * update after the first PONG; readLine skips it). */
  async connect(opts = {}) {
    const options = { verbose: false, pedantic: false, protocol: 1, headers: true, ...opts };
    this.send(`CONNECT ${JSON.stringify(options)}\r\nPING\r\n`);
    if ((await this.readLine()) !== "PONG") throw new Error("no PONG after CONNECT");
    this.send("PING\r\n");
    if ((await this.readLine()) !== "PONG") throw new Error("no PONG");
  }

  /** The next protocol line; asynchronous INFO lines are skipped. */
  async readLine({ skipInfo = true } = {}) {
    for (;;) {
      const i = this.buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.buf.subarray(0, i).toString();
        this.buf = this.buf.subarray(i + 2);
        if (skipInfo && line.startsWith("INFO ")) continue;
        return line;
      }
      await this.more("a protocol line");
    }
  }

  async readExact(n) {
    while (this.buf.length < n) await this.more(`${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** One MSG frame as {subject, sid, reply, payload(string)}. */
  async readMsg() {
    const line = await this.readLine();
    const parts = line.split(" ");
    if (parts[0] !== "MSG") throw new Error(`expected MSG, got ${line}`);
    const [subject, sid] = [parts[1], parts[2]];
    const reply = parts.length === 5 ? parts[3] : null;
    const payload = (await this.readExact(Number(parts[parts.length - 1]))).toString();
    if ((await this.readExact(2)).toString() !== "\r\n") throw new Error("bad MSG trailer");
    return { subject, sid, reply, payload };
  }

  /** Everything the server sends until it closes the connection. */
  async readUntilClose(timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection still open after ${timeoutMs}ms; got ${JSON.stringify(this.buf.toString())}`);
      await within(new Promise((resolve) => (this.waiter = resolve)), left, "the server to close the connection");
    }
    const out = this.buf.toString();
    this.buf = Buffer.alloc(0);
    return out;
  }

  close() {
    this.sock.destroy();
  }
}

module.exports = {
  HOST,
  NatsServer,
  RawClient,
  delay,
  freePort,
  serverBinary,
  startServer,
  waitUntil,
  within,
};
