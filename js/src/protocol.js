// @ts-check
/**
 * The front end's side of the message protocol (see datatailr/jupyter_ext/_widget.py).
 *
 * State flows one way: the kernel owns it in synced traits, the front end renders it. What a
 * user does becomes a custom message `{type, req, ...}`; the kernel answers every one with
 * `{type: "ack", req, ok, error?}` once it has updated the traits, and may send extra messages
 * (`insert_cell`). Comm messages are handled only while the kernel is idle, so requests may
 * wait: `pending` lets the view say "waiting for the kernel" instead of looking dead.
 */

/**
 * @typedef {{send: (content: any, callbacks?: any, buffers?: any) => void,
 *   on: (event: string, cb: (...args: any[]) => void) => void,
 *   off: (event: string, cb: (...args: any[]) => void) => void}} ModelLike
 * @typedef {{type: string, req?: number, ok?: boolean, error?: string, [k: string]: any}} Message
 */

/**
 * @param {ModelLike} model
 * @param {{onPending?: (count: number) => void, onMessage?: (msg: Message) => void}} [hooks]
 */
export function createClient(model, hooks = {}) {
  let next = 1;
  /** @type {Map<number, {resolve: (m: Message) => void, type: string}>} */
  const pending = new Map();
  const notify = () => hooks.onPending?.(pending.size);

  /** @param {Message} msg */
  const onCustom = (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "ack" && typeof msg.req === "number") {
      const entry = pending.get(msg.req);
      if (entry) {
        pending.delete(msg.req);
        notify();
        entry.resolve(msg);
      }
      return;
    }
    hooks.onMessage?.(msg);
  };
  model.on("msg:custom", onCustom);

  return {
    /**
     * Send an action; resolves with the kernel's ack ({ok, error}).
     * @param {string} type
     * @param {Record<string, any>} [payload]
     * @returns {Promise<Message>}
     */
    request(type, payload = {}) {
      const req = next++;
      return new Promise((resolve) => {
        pending.set(req, { resolve, type });
        notify();
        model.send({ ...payload, type, req });
      });
    },
    /** Types of the requests still waiting for the kernel. */
    pendingTypes() {
      return [...pending.values()].map((p) => p.type);
    },
    dispose() {
      model.off("msg:custom", onCustom);
      pending.clear();
    },
  };
}
