// A client survives a server restart on the same port.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { connect, StringCodec, Events } = require("nats");
const { NatsServer, waitUntil, within } = require("../lib/harness");

const sc = StringCodec();
const T = 10000;

describe("reconnect", () => {
  let server;

  before(async () => {
    server = await new NatsServer({ name: "restart" }).start();
  });
  after(async () => {
    await server.cleanup();
  });

  it("reconnects after the server restarts and subscriptions work again", async () => {
    const nc = await connect({
      servers: server.url,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
      reconnectJitter: 0,
      timeout: 2000,
    });
    const events = [];
    (async () => {
      for await (const s of nc.status()) events.push(s.type);
    })();
    try {
      const got = [];
      nc.subscribe("re.t", { callback: (err, msg) => got.push(sc.decode(msg.data)) });
      nc.publish("re.t", sc.encode("before"));
      await nc.flush();
      assert.deepEqual(got, ["before"]);

      await server.stop();
      await waitUntil(() => events.includes(Events.Disconnect), T, "the client to notice the server went away");
      assert.ok(!events.includes(Events.Reconnect));

      await server.start(); // same port
      await waitUntil(() => events.includes(Events.Reconnect), T, "the client to reconnect");
      assert.equal(nc.isClosed(), false);
      assert.equal(events.filter((e) => e === Events.Reconnect).length, 1);

      // The old subscription was replayed on the new connection...
      nc.publish("re.t", sc.encode("after"));
      await within(nc.flush(), T, "flush after reconnect");
      assert.deepEqual(got, ["before", "after"]);

      // ...and new ones work, from another client too.
      const other = await connect({ servers: server.url, reconnect: false });
      try {
        const got2 = [];
        nc.subscribe("re.t2", { callback: (err, msg) => got2.push(sc.decode(msg.data)) });
        await nc.flush();
        other.publish("re.t", sc.encode("from-other"));
        other.publish("re.t2", sc.encode("new-sub"));
        await other.flush();
        await nc.flush();
        assert.deepEqual(got, ["before", "after", "from-other"]);
        assert.deepEqual(got2, ["new-sub"]);
      } finally {
        await other.close();
      }
    } finally {
      await nc.close();
    }
  });
});
