// max_payload set from a config file.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { connect, StringCodec, ErrorCode } = require("nats");
const { startServer, RawClient } = require("../lib/harness");

const sc = StringCodec();
const MAX_PAYLOAD = 1024;

describe("max_payload from a config file", () => {
  let server;

  before(async () => {
    server = await startServer({ name: "maxpayload", config: `max_payload: ${MAX_PAYLOAD}\n` });
  });
  after(async () => {
    await server.cleanup();
  });

  it("the client sees max_payload and refuses a bigger publish", async () => {
    const nc = await connect({ servers: server.url, reconnect: false });
    try {
      assert.equal(nc.info.max_payload, MAX_PAYLOAD);
      const got = [];
      nc.subscribe("mp.t", { callback: (err, msg) => got.push(sc.decode(msg.data)) });
      nc.publish("mp.t", sc.encode("a".repeat(MAX_PAYLOAD))); // exactly the limit is fine
      assert.throws(
        () => nc.publish("mp.t", sc.encode("b".repeat(2000))),
        (err) => err.code === ErrorCode.MaxPayloadExceeded,
      );
      nc.publish("mp.t", sc.encode("after")); // refused locally; connection still good
      await nc.flush();
      assert.deepEqual(got, ["a".repeat(MAX_PAYLOAD), "after"]);
      assert.equal(nc.isClosed(), false);
    } finally {
      await nc.close();
    }
  });

  it("INFO advertises max_payload", async () => {
    const c = await RawClient.open(server.port);
    try {
      assert.equal(c.info.max_payload, MAX_PAYLOAD);
    } finally {
      c.close();
    }
  });

  it("a raw PUB line over max_payload gets -ERR and the connection is closed", async () => {
    const c = await RawClient.open(server.port);
    try {
      await c.connect();
      c.send("PUB mp.raw 2000\r\n");
      assert.equal(await c.readUntilClose(), "-ERR 'Maximum Payload Violation'\r\n");
    } finally {
      c.close();
    }
  });

  it("a raw PUB of 2000 bytes gets -ERR and the connection is closed", async () => {
    const c = await RawClient.open(server.port);
    try {
      await c.connect();
      c.send(`PUB mp.raw 2000\r\n${"z".repeat(2000)}\r\n`);
      assert.equal(await c.readUntilClose(), "-ERR 'Maximum Payload Violation'\r\n");
    } finally {
      c.close();
    }
  });

  it("a raw PUB of exactly max_payload is delivered", async () => {
    const c = await RawClient.open(server.port);
    try {
      await c.connect();
      c.send(`SUB mp.ok 1\r\nPUB mp.ok ${MAX_PAYLOAD}\r\n${"k".repeat(MAX_PAYLOAD)}\r\nPING\r\n`);
      assert.deepEqual(await c.readMsg(), { subject: "mp.ok", sid: "1", reply: null, payload: "k".repeat(MAX_PAYLOAD) });
      assert.equal(await c.readLine(), "PONG");
    } finally {
      c.close();
    }
  });
});
