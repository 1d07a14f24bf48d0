// @ts-check
/**
 * The model `dt ui` gives the explorer outside Jupyter: the same get/set/on/off/send/
 * save_changes surface an anywidget front-end module gets, over one websocket to the
 * kernel-less server (datatailr/cli/ui.py), which runs the same ExplorerWidget state.
 *
 *   server -> page   {kind: "state", state}   every synced trait, once on connect
 *                    {kind: "update", state}  the traits that changed
 *                    {kind: "custom", content} what the widget sent (acks, insert_cell...)
 *   page -> server   {kind: "custom", content} model.send(content)
 *                    {kind: "set", state}      model.save_changes() after model.set(...)
 */

/**
 * @typedef {{send: (data: string) => void, addEventListener: (type: string, cb: (e: any) => void) => void,
 *   readyState: number}} SocketLike
 */

/**
 * @param {SocketLike} socket
 * @param {{onStatus?: (status: "open" | "closed" | "error") => void}} [hooks]
 */
export function createSocketModel(socket, hooks = {}) {
  /** @type {Record<string, any>} */
  const state = {};
  /** @type {Record<string, any>} */
  let dirty = {};
  /** @type {Map<string, Set<(...args: any[]) => void>>} */
  const listeners = new Map();
  /** @type {string[]} */
  const queue = [];
  let open = socket.readyState === 1;
  let resolveReady = () => {};
  const ready = new Promise((resolve) => (resolveReady = () => resolve(undefined)));

  /** @param {string} event @param {...any} args */
  const emit = (event, ...args) => {
    for (const cb of listeners.get(event) ?? []) cb(...args);
  };
  /** @param {any} msg */
  const write = (msg) => {
    const text = JSON.stringify(msg);
    if (open) socket.send(text);
    else queue.push(text);
  };

  socket.addEventListener("open", () => {
    open = true;
    for (const text of queue.splice(0)) socket.send(text);
    hooks.onStatus?.("open");
  });
  socket.addEventListener("close", () => {
    open = false;
    hooks.onStatus?.("closed");
  });
  socket.addEventListener("error", () => hooks.onStatus?.("error"));
  socket.addEventListener("message", (e) => {
    let msg;
    try {
      msg = JSON.parse(String(e.data));
    } catch {
      return;
    }
    if (msg.kind === "state" || msg.kind === "update") {
      const changed = Object.keys(msg.state ?? {});
      Object.assign(state, msg.state);
      for (const k of changed) emit(`change:${k}`, model, state[k]);
      if (changed.length) emit("change", model);
      if (msg.kind === "state") resolveReady();
    } else if (msg.kind === "custom") {
      emit("msg:custom", msg.content, []);
    }
  });

  const model = {
    /** Resolves once the first full state has arrived. */
    ready,
    /** @param {string} key */
    get: (key) => state[key],
    /** @param {string} key @param {any} value */
    set(key, value) {
      state[key] = value;
      dirty[key] = value;
      emit(`change:${key}`, model, value);
    },
    save_changes() {
      if (!Object.keys(dirty).length) return;
      write({ kind: "set", state: dirty });
      dirty = {};
    },
    /** @param {any} content */
    send(content) {
      write({ kind: "custom", content });
    },
    /** @param {string} event @param {(...args: any[]) => void} cb */
    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(cb);
    },
    /** @param {string} event @param {(...args: any[]) => void} [cb] */
    off(event, cb) {
      if (!cb) listeners.delete(event);
      else listeners.get(event)?.delete(cb);
    },
  };
  return model;
}
