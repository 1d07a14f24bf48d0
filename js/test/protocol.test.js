import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "../src/protocol.js";

/** A stand-in for anywidget's model: records sends, lets the test play the kernel. */
function mockModel() {
  const handlers = new Map();
  return {
    sent: [],
    send(content) {
      this.sent.push(content);
    },
    on(event, cb) {
      handlers.set(event, [...(handlers.get(event) ?? []), cb]);
    },
    off(event, cb) {
      handlers.set(
        event,
        (handlers.get(event) ?? []).filter((f) => f !== cb),
      );
    },
    emit(event, msg) {
      for (const cb of handlers.get(event) ?? []) cb(msg);
    },
    count(event) {
      return (handlers.get(event) ?? []).length;
    },
  };
}

test("requests carry type and a fresh req; the ack resolves them", async () => {
  const model = mockModel();
  const pending = [];
  const client = createClient(model, { onPending: (n) => pending.push(n) });
  const a = client.request("select_run", { run_id: 12 });
  const b = client.request("set_page", { page: 3 });
  assert.deepEqual(model.sent, [
    { run_id: 12, type: "select_run", req: 1 },
    { page: 3, type: "set_page", req: 2 },
  ]);
  assert.deepEqual(client.pendingTypes(), ["select_run", "set_page"]);
  model.emit("msg:custom", { type: "ack", req: 2, ok: false, error: "page out of range" });
  model.emit("msg:custom", { type: "ack", req: 1, ok: true });
  assert.deepEqual(await b, { type: "ack", req: 2, ok: false, error: "page out of range" });
  assert.deepEqual(await a, { type: "ack", req: 1, ok: true });
  assert.deepEqual(pending, [1, 2, 1, 0]);
});

test("other kernel messages go to onMessage; unknown acks and junk are ignored", () => {
  const model = mockModel();
  const seen = [];
  createClient(model, { onMessage: (m) => seen.push(m) });
  model.emit("msg:custom", { type: "ack", req: 99, ok: true });
  model.emit("msg:custom", null);
  model.emit("msg:custom", "text");
  model.emit("msg:custom", { type: "insert_cell", code: "x = 1", variable: "x" });
  assert.deepEqual(seen, [{ type: "insert_cell", code: "x = 1", variable: "x" }]);
});

test("dispose unsubscribes", () => {
  const model = mockModel();
  const client = createClient(model);
  assert.equal(model.count("msg:custom"), 1);
  client.dispose();
  assert.equal(model.count("msg:custom"), 0);
});
