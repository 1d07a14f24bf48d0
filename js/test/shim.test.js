import assert from "node:assert/strict";
import { test } from "node:test";
import { createSocketModel } from "../src/shim.js";

function fakeSocket() {
  const handlers = {};
  return {
    readyState: 0,
    sent: [],
    send(text) {
      this.sent.push(JSON.parse(text));
    },
    addEventListener(type, cb) {
      (handlers[type] ??= []).push(cb);
    },
    fire(type, data) {
      for (const cb of handlers[type] ?? []) cb({ data: JSON.stringify(data) });
    },
  };
}

test("the dt ui socket model: state in, changes announced, sends queued until open", async () => {
  const socket = fakeSocket();
  const model = createSocketModel(socket);
  const seen = [];
  const custom = [];
  model.on("change:run_id", (_m, v) => seen.push(v));
  model.on("msg:custom", (content) => custom.push(content));
  model.send({ type: "hello", req: 1 });
  assert.deepEqual(socket.sent, []);
  socket.fire("open", {});
  assert.deepEqual(socket.sent, [{ kind: "custom", content: { type: "hello", req: 1 } }]);
  socket.fire("message", { kind: "state", state: { run_id: null, workflow: "" } });
  await model.ready;
  socket.fire("message", { kind: "update", state: { run_id: 7 } });
  socket.fire("message", { kind: "custom", content: { type: "ack", req: 1, ok: true } });
  assert.deepEqual(
    [seen, model.get("run_id"), model.get("workflow"), custom],
    [[null, 7], 7, "", [{ type: "ack", req: 1, ok: true }]],
  );
  model.set("page", 2);
  model.save_changes();
  model.save_changes();
  assert.deepEqual(socket.sent.slice(1), [{ kind: "set", state: { page: 2 } }]);
});
