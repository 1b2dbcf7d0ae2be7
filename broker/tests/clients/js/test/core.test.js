// Core NATS behaviour seen through nats.js (v2).
//
// Ordering facts the assertions rely on (all part of the NATS protocol):
//  * messages from one publisher connection to one subscription arrive in
//    publish order;
//  * a PING is answered only after every earlier command of that connection
//    was processed, so after `await pub.flush()` every message published
//    before it has been routed; after that, `await sub.flush()` on a
//    subscriber connection returns only once everything routed to it has
//    arrived (and nats.js runs subscription callbacks as frames are parsed).
// So "nothing else arrived" is proved with flushes, never by sleeping.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { connect, StringCodec, headers, ErrorCode, createInbox } = require("nats");
const { startServer, waitUntil, within, RawClient } = require("../lib/harness");

const sc = StringCodec();
const T = 5000;

describe("core NATS via nats.js", () => {
  let server;
  let conns = [];

  before(async () => {
    server = await startServer({ name: "core" });
  });
  after(async () => {
    await Promise.all(conns.map((nc) => nc.close().catch(() => {})));
    await server.cleanup();
  });

  async function open(opts = {}) {
    const nc = await connect({ servers: server.url, reconnect: false, timeout: T, ...opts });
    conns.push(nc);
    return nc;
  }

  /** A subscription whose callback records every message as it is parsed. */
  function collect(nc, subject, opts = {}) {
    const msgs = [];
    const sub = nc.subscribe(subject, {
      ...opts,
      callback: (err, msg) => {
        if (err) throw err;
        msgs.push(msg);
      },
    });
    const data = () => msgs.map((m) => sc.decode(m.data));
    const subjects = () => msgs.map((m) => m.subject);
    const waitFor = (n) => waitUntil(() => msgs.length >= n, T, `${n} messages on ${subject} (have ${msgs.length})`);
    return { sub, msgs, data, subjects, waitFor };
  }

  // ------------------------------------------------------------------ pub/sub

  it("pub/sub on one connection keeps order and payloads", async () => {
    const nc = await open();
    const c = collect(nc, "ps.same");
    const payloads = [...Array(100).keys()].map((i) => `msg-${i}`);
    payloads.push("", "x".repeat(65536));
    for (const p of payloads) nc.publish("ps.same", sc.encode(p));
    await nc.flush();
    assert.deepEqual(c.data(), payloads);
    assert.ok(c.msgs.every((m) => m.subject === "ps.same" && !m.reply));
  });

  it("pub/sub across connections, with a reply subject", async () => {
    const subNc = await open();
    const pubNc = await open();
    const c = collect(subNc, "ps.cross");
    await subNc.flush(); // the SUB is processed before anyone publishes
    for (let i = 0; i < 500; i++) pubNc.publish("ps.cross", sc.encode(`${i}`));
    pubNc.publish("ps.cross", sc.encode("with-reply"), { reply: "ps.reply.to" });
    await pubNc.flush();
    await subNc.flush();
    assert.equal(c.msgs.length, 501);
    assert.deepEqual(c.data().slice(0, 500), [...Array(500).keys()].map(String));
    assert.equal(c.msgs[500].reply, "ps.reply.to");
    assert.equal(sc.decode(c.msgs[500].data), "with-reply");
  });

  it("binary payloads arrive byte for byte", async () => {
    const nc = await open();
    const c = collect(nc, "ps.bin");
    const bytes = Uint8Array.from([0, 255, 13, 10, 1, 2, 3, 13, 10]);
    nc.publish("ps.bin", bytes);
    await nc.flush();
    assert.deepEqual(Array.from(c.msgs[0].data), Array.from(bytes));
  });

  it("unsubscribe stops delivery", async () => {
    const nc = await open();
    const c = collect(nc, "ps.unsub");
    nc.publish("ps.unsub", sc.encode("1"));
    await nc.flush();
    c.sub.unsubscribe();
    nc.publish("ps.unsub", sc.encode("2"));
    await nc.flush();
    assert.deepEqual(c.data(), ["1"]);
  });

  // ------------------------------------------------------------------ wildcards

  it("wildcards * and >", async () => {
    const nc = await open();
    const star = collect(nc, "wc.*");
    const gt = collect(nc, "wc.>");
    const mid = collect(nc, "wc.*.z");
    const lead = collect(nc, "*.a.>");
    const subjects = ["wc", "wc.a", "wc.a.b", "wc.b", "wc.a.z", "wc.a.b.z", "wc.q.z", "wcx.a", "other.a", "x.a.b.c", "x.a"];
    for (const s of subjects) nc.publish(s, sc.encode(s));
    await nc.flush();
    assert.deepEqual(star.subjects(), ["wc.a", "wc.b"]);
    assert.deepEqual(gt.subjects(), ["wc.a", "wc.a.b", "wc.b", "wc.a.z", "wc.a.b.z", "wc.q.z"]);
    assert.deepEqual(mid.subjects(), ["wc.a.z", "wc.q.z"]);
    assert.deepEqual(lead.subjects(), ["wc.a.b", "wc.a.z", "wc.a.b.z", "x.a.b.c"]);
    assert.deepEqual(gt.data(), gt.subjects());
  });

  it("overlapping subscriptions each get one copy", async () => {
    const nc = await open();
    const cs = ["ov.a.b", "ov.*.b", "ov.>", "ov.a.*"].map((s) => collect(nc, s));
    nc.publish("ov.a.b", sc.encode("one"));
    await nc.flush();
    for (const c of cs) assert.deepEqual(c.data(), ["one"]);
  });

  // ------------------------------------------------------------------ queue groups

  it("queue group spreads load across members, each message once", async () => {
    const n = 300;
    const members = [];
    for (let i = 0; i < 3; i++) {
      const nc = await open();
      members.push({ nc, c: collect(nc, "qg.work", { queue: "workers" }) });
    }
    const watcherNc = await open();
    const watcher = collect(watcherNc, "qg.work");
    for (const m of members) await m.nc.flush();
    await watcherNc.flush();

    const pub = await open();
    for (let i = 0; i < n; i++) pub.publish("qg.work", sc.encode(`${i}`));
    await pub.flush(); // all routed...
    for (const m of members) await m.nc.flush(); // ...and arrived
    await watcherNc.flush();

    const counts = members.map((m) => m.c.msgs.length);
    assert.equal(counts.reduce((a, b) => a + b, 0), n, `counts ${counts}`);
    assert.ok(counts.every((k) => k > 0), `a member got nothing: ${counts}`);
    const all = members.flatMap((m) => m.c.data()).map(Number).sort((a, b) => a - b);
    assert.deepEqual(all, [...Array(n).keys()]);
    assert.deepEqual(watcher.data(), [...Array(n).keys()].map(String));
  });

  it("distinct queue groups each get every message", async () => {
    const nc = await open();
    const a1 = collect(nc, "qg.multi", { queue: "a" });
    const a2 = collect(nc, "qg.multi", { queue: "a" });
    const b1 = collect(nc, "qg.multi", { queue: "b" });
    for (let i = 0; i < 50; i++) nc.publish("qg.multi", sc.encode("x"));
    await nc.flush();
    assert.equal(a1.msgs.length + a2.msgs.length, 50);
    assert.equal(b1.msgs.length, 50);
  });

  // ------------------------------------------------------------------ request/reply

  it("request/reply", async () => {
    const responder = await open();
    const seen = [];
    responder.subscribe("rr.echo", {
      callback: (err, msg) => {
        seen.push(sc.decode(msg.data));
        msg.respond(sc.encode(`echo:${sc.decode(msg.data)}`));
      },
    });
    await responder.flush();
    const requester = await open();
    for (let i = 0; i < 20; i++) {
      const resp = await requester.request("rr.echo", sc.encode(`q${i}`), { timeout: T });
      assert.equal(sc.decode(resp.data), `echo:q${i}`);
    }
    assert.deepEqual(seen, [...Array(20).keys()].map((i) => `q${i}`));
  });

  it("request/reply with a queue group of responders answers once", async () => {
    const calls = [];
    for (let idx = 0; idx < 3; idx++) {
      const r = await open();
      r.subscribe("rr.svc", {
        queue: "svc",
        callback: (err, msg) => {
          calls.push(idx);
          msg.respond(sc.encode(`from-${idx}`));
        },
      });
      await r.flush();
    }
    const requester = await open();
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(sc.decode((await requester.request("rr.svc", undefined, { timeout: T })).data));
    assert.equal(calls.length, 30);
    assert.deepEqual(answers, calls.map((i) => `from-${i}`));
  });

  it("old-style request (noMux) and a manual inbox", async () => {
    const nc = await open();
    nc.subscribe("rr.manual", { callback: (err, msg) => msg.respond(sc.encode(sc.decode(msg.data).toUpperCase())) });
    const resp = await nc.request("rr.manual", sc.encode("shout"), { timeout: T, noMux: true });
    assert.equal(sc.decode(resp.data), "SHOUT");
    const inbox = createInbox();
    const replies = collect(nc, inbox);
    nc.publish("rr.manual", sc.encode("again"), { reply: inbox });
    await replies.waitFor(1);
    assert.deepEqual(replies.data(), ["AGAIN"]);
    assert.equal(replies.msgs[0].subject, inbox);
  });

  // ------------------------------------------------------------------ headers

  it("headers round-trip", async () => {
    const subNc = await open();
    const pubNc = await open();
    const c = collect(subNc, "hdr.t");
    await subNc.flush();
    const h = headers();
    h.set("X-Test", "yes");
    h.set("X-Spaces", "a value with spaces");
    h.set("X-Colon", "k:v:w");
    h.set("Mixed-Case-Key", "Case Preserved");
    h.append("X-Multi", "one");
    h.append("X-Multi", "two");
    pubNc.publish("hdr.t", sc.encode("body"), { headers: h });
    const only = headers();
    only.set("X-Only", "headers");
    pubNc.publish("hdr.t", undefined, { headers: only });
    pubNc.publish("hdr.t", sc.encode("plain"));
    await pubNc.flush();
    await subNc.flush();
    assert.equal(c.msgs.length, 3);
    const [m1, m2, m3] = c.msgs;
    assert.equal(sc.decode(m1.data), "body");
    assert.deepEqual([...m1.headers.keys()].sort(), ["Mixed-Case-Key", "X-Colon", "X-Multi", "X-Spaces", "X-Test"]);
    assert.equal(m1.headers.get("X-Test"), "yes");
    assert.equal(m1.headers.get("X-Spaces"), "a value with spaces");
    assert.equal(m1.headers.get("X-Colon"), "k:v:w");
    assert.equal(m1.headers.get("Mixed-Case-Key"), "Case Preserved");
    assert.deepEqual(m1.headers.values("X-Multi"), ["one", "two"]);
    assert.equal(m2.data.length, 0);
    assert.deepEqual([...m2.headers.keys()], ["X-Only"]);
    assert.equal(m2.headers.get("X-Only"), "headers");
    assert.equal(sc.decode(m3.data), "plain");
    assert.equal(m3.headers, undefined);
  });

  it("headers in request and response", async () => {
    const responder = await open();
    responder.subscribe("hdr.svc", {
      callback: (err, msg) => {
        const h = headers();
        h.set("X-Got", msg.headers.get("X-Req"));
        h.set("X-Served-By", "js");
        msg.respond(sc.encode([...sc.decode(msg.data)].reverse().join("")), { headers: h });
      },
    });
    await responder.flush();
    const requester = await open();
    const h = headers();
    h.set("X-Req", "r-1");
    const resp = await requester.request("hdr.svc", sc.encode("abc"), { timeout: T, headers: h });
    assert.equal(sc.decode(resp.data), "cba");
    assert.equal(resp.headers.get("X-Got"), "r-1");
    assert.equal(resp.headers.get("X-Served-By"), "js");
  });

  // ------------------------------------------------------------------ no responders

  it("no responders fails the request at once", async () => {
    const nc = await open();
    const started = Date.now();
    await assert.rejects(nc.request("nobody.home", sc.encode("anyone?"), { timeout: T }), (err) => {
      assert.equal(err.code, ErrorCode.NoResponders);
      return true;
    });
    assert.ok(Date.now() - started < T / 2, "answered by the server, not by the timeout");
  });

  it("a silent subscriber gives a timeout, not no-responders", async () => {
    const nc = await open();
    nc.subscribe("silent.svc", { callback: () => {} });
    await assert.rejects(nc.request("silent.svc", undefined, { timeout: 300 }), (err) => {
      assert.equal(err.code, ErrorCode.Timeout);
      return true;
    });
  });

  // ------------------------------------------------------------------ auto-unsubscribe

  it("auto-unsubscribe after max messages", async () => {
    const nc = await open();
    const limited = collect(nc, "au.t", { max: 3 });
    const everything = collect(nc, "au.t");
    for (let i = 0; i < 6; i++) nc.publish("au.t", sc.encode(`${i}`));
    await nc.flush();
    assert.deepEqual(everything.data(), ["0", "1", "2", "3", "4", "5"]);
    assert.deepEqual(limited.data(), ["0", "1", "2"]);
    assert.equal(limited.sub.getReceived(), 3);
    assert.ok(limited.sub.isClosed());
  });

  it("auto-unsubscribe is enforced by the server (raw UNSUB <sid> <max>)", async () => {
    const c = await RawClient.open(server.port);
    try {
      await c.connect();
      c.send("SUB au.raw 9\r\nUNSUB 9 3\r\n");
      let pubs = "";
      for (let i = 0; i < 5; i++) pubs += `PUB au.raw 2\r\nm${i}\r\n`;
      c.send(pubs + "PING\r\n");
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await c.readMsg(), { subject: "au.raw", sid: "9", reply: null, payload: `m${i}` });
      }
      assert.equal(await c.readLine(), "PONG"); // nothing else before it
      c.send("PUB au.raw 5\r\nlater\r\nPING\r\n");
      assert.equal(await c.readLine(), "PONG");
    } finally {
      c.close();
    }
  });

  it("unsubscribe(n) after some messages counts what was delivered", async () => {
    const nc = await open();
    const c = collect(nc, "au.later");
    nc.publish("au.later", sc.encode("a"));
    nc.publish("au.later", sc.encode("b"));
    await nc.flush();
    c.sub.unsubscribe(3); // 2 delivered: one more
    for (const p of ["c", "d", "e"]) nc.publish("au.later", sc.encode(p));
    await nc.flush();
    assert.deepEqual(c.data(), ["a", "b", "c"]);
  });

  // ------------------------------------------------------------------ echo

  it("noEcho: a connection does not get its own messages, others do", async () => {
    const quiet = await open({ noEcho: true });
    const loud = await open();
    const q = collect(quiet, "echo.t");
    const l = collect(loud, "echo.t");
    await quiet.flush();
    await loud.flush();
    quiet.publish("echo.t", sc.encode("from-quiet"));
    await quiet.flush(); // routed before loud publishes
    loud.publish("echo.t", sc.encode("from-loud"));
    await loud.flush();
    await quiet.flush();
    assert.deepEqual(q.data(), ["from-loud"]);
    assert.deepEqual(l.data(), ["from-quiet", "from-loud"]);
  });

  it("echo is the default", async () => {
    const nc = await open();
    const c = collect(nc, "echo.default");
    nc.publish("echo.default", sc.encode("me"));
    await nc.flush();
    assert.deepEqual(c.data(), ["me"]);
  });

  it("a noEcho connection can still make requests to others", async () => {
    const quiet = await open({ noEcho: true });
    const other = await open();
    other.subscribe("echo.svc", { callback: (err, msg) => msg.respond(sc.encode("pong")) });
    await other.flush();
    const resp = await within(quiet.request("echo.svc", sc.encode("ping"), { timeout: T }), T + 1000, "reply");
    assert.equal(sc.decode(resp.data), "pong");
  });
});
