// @ts-check
/** The Rerun popup: optional version (integer), full toggle, then the new run appears. */
import { h, replace } from "../dom.js";
import { parseVersion } from "../runs.js";

/** @typedef {import("../app.js").Ctx} Ctx */

/** @param {Ctx} ctx */
export function createRerunDialog(ctx) {
  const layer = h("div", { class: "dt-dialog-layer", style: { display: "none" } });
  /** @type {(() => void) | null} */
  let onKey = null;

  function close() {
    layer.style.display = "none";
    replace(layer);
    if (onKey) document.removeEventListener("keydown", onKey, true);
    onKey = null;
  }

  /**
   * @param {any} run
   * @param {any[]} versions  [{job_version, created_at, ...}] oldest first
   */
  function open(run, versions) {
    const known = versions.map((v) => v.job_version);
    const latest = known.length ? Math.max(...known) : null;
    // A text field: a number field drops letters silently and submits as if empty.
    const version = /** @type {HTMLInputElement} */ (
      h("input", {
        type: "text",
        inputmode: "numeric",
        autocomplete: "off",
        class: "dt-version",
        placeholder: latest != null ? `latest (${latest})` : "latest",
        "aria-label": "Version",
      })
    );
    const full = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", class: "dt-full" }));
    const error = h("div", { class: "dt-dialog-error", role: "alert" });
    version.addEventListener("input", () => {
      const parsed = parseVersion(version.value);
      error.textContent = parsed.ok ? "" : parsed.error;
    });
    const submit = /** @type {HTMLButtonElement} */ (
      h("button", { class: "dt-primary dt-confirm", type: "submit", text: "Rerun" })
    );
    const form = h(
      "form",
      {
        class: "dt-dialog",
        role: "dialog",
        "aria-modal": "true",
        "aria-label": `Rerun run ${run.run_id}`,
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          const parsed = parseVersion(version.value);
          if (!parsed.ok) {
            error.textContent = parsed.error;
            return;
          }
          if (parsed.version !== null && known.length && !known.includes(parsed.version)) {
            error.textContent = `Version ${parsed.version} does not exist: versions are ${known.join(", ")}.`;
            return;
          }
          submit.disabled = true;
          submit.textContent = "Starting…";
          const ack = await ctx.request("rerun", { run_id: run.run_id, version: parsed.version, full: full.checked });
          if (ack.ok) {
            close();
            if (typeof ack.run_id === "number") ctx.flash(ack.run_id);
          } else {
            submit.disabled = false;
            submit.textContent = "Rerun";
            error.textContent = ack.error || "The rerun failed.";
          }
        },
      },
      h("h3", { text: `Rerun run #${run.run_id}` }),
      h("div", { class: "dt-muted", text: `of ${ctx.workflowName()} · ran version ${run.job_version ?? "?"}` }),
      h(
        "div",
        { class: "dt-form-row" },
        h("label", { text: "Version (optional)" }),
        version,
        h("span", {
          class: "dt-faint",
          text: known.length
            ? `Available: ${known.join(", ")}. Empty: the latest (${latest}). This run used ${run.job_version ?? "?"}.`
            : "Empty: the latest version.",
        }),
      ),
      h(
        "label",
        { class: "dt-check" },
        full,
        h(
          "span",
          {},
          h("b", { text: "Full rerun" }),
          h("br"),
          h("span", {
            class: "dt-faint",
            text: "Run every task again. Otherwise tasks that completed reuse their stored results.",
          }),
        ),
      ),
      error,
      h(
        "div",
        { class: "dt-dialog-buttons" },
        h("button", { type: "button", class: "dt-cancel", text: "Cancel", onclick: close }),
        submit,
      ),
    );
    replace(layer, form);
    layer.style.display = "";
    layer.onclick = (e) => {
      if (e.target === layer) close();
    };
    onKey = () => {};
    const handler = (/** @type {KeyboardEvent} */ e) => {
      if (e.key === "Escape" && layer.contains(/** @type {Node} */ (e.target))) {
        e.stopPropagation();
        close();
      }
    };
    onKey = /** @type {any} */ (handler);
    document.addEventListener("keydown", handler, true);
    version.focus();
  }
  return { el: layer, open, close, isOpen: () => layer.style.display !== "none" };
}
