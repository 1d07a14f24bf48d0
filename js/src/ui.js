// @ts-check
/**
 * The `dt ui` page: connect to the server's websocket (the token from the page's URL) and
 * render the same explorer module the notebook widget uses, over the socket model.
 */
import { createSocketModel } from "./shim.js";

const params = new URLSearchParams(location.search);
const token = params.get("token") ?? "";
const el = /** @type {HTMLElement} */ (document.getElementById("dt-app"));
const banner = /** @type {HTMLElement} */ (document.getElementById("dt-connection"));
const scheme = location.protocol === "https:" ? "wss" : "ws";
const socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`);
const model = createSocketModel(socket, {
  onStatus(status) {
    document.body.dataset.connection = status;
    banner.textContent = status === "open" ? "" : "Disconnected from dt ui: restart it and reload this page.";
  },
});
const dark = window.matchMedia?.("(prefers-color-scheme: dark)");
const theme = () => (document.body.dataset.jpThemeLight = dark?.matches ? "false" : "true");
theme();
dark?.addEventListener?.("change", theme);
model.ready.then(async () => {
  // Served beside this file: the very bundle the notebook widget loads.
  const url = "./explorer.js";
  const explorer = await import(url);
  explorer.default.render({ model, el });
  document.body.dataset.ready = "1";
});
