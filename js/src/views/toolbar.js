// @ts-check
/** The top bar: workflow and environment dropdowns, the date/time range, refresh. */
import { h, replace } from "../dom.js";
import { PRESETS, parseRangeText, presetRange, toRangeText } from "../format.js";

/**
 * @typedef {import("../app.js").Ctx} Ctx
 */

/** @param {Ctx} ctx */
export function createToolbar(ctx) {
  const workflowSelect = /** @type {HTMLSelectElement} */ (
    h("select", {
      class: "dt-workflow-select",
      "aria-label": "Workflow",
      onchange: () => ctx.request("select_workflow", { workflow: workflowSelect.value }),
    })
  );
  const envSelect = /** @type {HTMLSelectElement} */ (
    h("select", {
      class: "dt-env-select",
      "aria-label": "Environment",
      onchange: () => ctx.request("set_environment", { environment: envSelect.value }),
    })
  );
  // Text inputs, not datetime-local: that one shows the browser's locale (often 12-hour)
  // where everything else here is ISO UTC, 24-hour.
  const dateInput = (/** @type {string} */ cls, /** @type {string} */ label) =>
    /** @type {HTMLInputElement} */ (
      h("input", {
        type: "text",
        class: `dt-date ${cls}`,
        "aria-label": label,
        placeholder: "YYYY-MM-DD HH:MM",
        autocomplete: "off",
        spellcheck: "false",
      })
    );
  const from = dateInput("dt-from", "From (UTC)");
  const to = dateInput("dt-to", "To (UTC)");
  const rangeError = h("span", { class: "dt-range-error", role: "alert" });
  const applyInputs = () => {
    const a = parseRangeText(from.value);
    const b = parseRangeText(to.value);
    from.classList.toggle("dt-invalid", !a.ok);
    to.classList.toggle("dt-invalid", !b.ok);
    if (!a.ok || !b.ok) {
      rangeError.textContent = !a.ok ? a.error : !b.ok ? b.error : "";
      return;
    }
    rangeError.textContent = "";
    ctx.request("set_range", { start_time: a.iso, end_time: b.iso });
  };
  from.addEventListener("change", applyInputs);
  to.addEventListener("change", applyInputs);
  const presets = h(
    "span",
    { class: "dt-presets", role: "group", "aria-label": "Quick ranges" },
    PRESETS.map((p) =>
      h("button", {
        class: "dt-preset",
        dataset: { preset: p.key },
        title: p.hours === null ? "All runs" : `Runs started in the last ${p.label}`,
        text: p.label,
        onclick: () => ctx.request("set_range", presetRange(p.key, Date.now())),
      }),
    ),
  );
  const refresh = h("button", {
    class: "dt-refresh",
    title: "Reload from the store",
    text: "⟳ Refresh",
    onclick: () => ctx.request("refresh"),
  });
  const range = h(
    "span",
    { class: "dt-range" },
    h("label", { text: "From" }),
    from,
    h("label", { text: "to" }),
    to,
    h("span", { class: "dt-utc", text: "UTC" }),
    presets,
    rangeError,
  );
  const el = h(
    "div",
    { class: "dt-toolbar" },
    h("span", { class: "dt-title" }, h("span", { class: "dt-logo" }), "Workflow runs"),
    h("span", { class: "dt-field" }, h("label", { text: "Workflow" }), workflowSelect),
    h("span", { class: "dt-field" }, h("label", { text: "Env" }), envSelect),
    range,
    h("span", { class: "dt-spacer" }),
    refresh,
  );

  /** @type {Record<string, any>} */
  let last = {};
  /** @param {Record<string, any>} st */
  function update(st) {
    if (st.workflows !== last.workflows || st.workflow !== last.workflow) {
      const names = new Set((st.workflows ?? []).map((/** @type {any} */ w) => w.slug));
      const options = [h("option", { value: "", text: "— All workflows (overview) —" })];
      for (const wf of st.workflows ?? []) options.push(h("option", { value: wf.slug, text: wf.name }));
      // A workflow given to %dt_runs that is not in the list still shows as selected.
      if (st.workflow && !names.has(st.workflow)) options.push(h("option", { value: st.workflow, text: st.workflow }));
      replace(workflowSelect, options);
      workflowSelect.value = st.workflow ?? "";
    }
    if (st.environments !== last.environments || st.environment !== last.environment) {
      replace(
        envSelect,
        (st.environments ?? []).map((/** @type {string} */ e) => h("option", { value: e, text: e })),
      );
      envSelect.value = st.environment;
    }
    if (st.start_time !== last.start_time || st.end_time !== last.end_time) {
      if (document.activeElement !== from) from.value = toRangeText(st.start_time);
      if (document.activeElement !== to) to.value = toRangeText(st.end_time);
      from.classList.remove("dt-invalid");
      to.classList.remove("dt-invalid");
      rangeError.textContent = "";
      const active = activePreset(st.start_time, st.end_time, Date.now());
      for (const b of presets.querySelectorAll("button")) {
        b.classList.toggle("dt-on", /** @type {HTMLElement} */ (b).dataset.preset === active);
      }
    }
    range.style.display = st.workflow ? "" : "none";
    last = st;
  }
  return { el, update };
}

/**
 * Which preset button matches the current range (the range a preset set a while ago is
 * still that preset for a minute or so of drift).
 * @param {string} start
 * @param {string} end
 * @param {number} nowMs
 */
export function activePreset(start, end, nowMs) {
  if (!start && !end) return "all";
  if (end) return null;
  for (const p of PRESETS) {
    if (p.hours === null) continue;
    const expect = presetRange(p.key, nowMs).start_time;
    if (expect && Math.abs(Date.parse(expect) - Date.parse(start)) < 5 * 60 * 1000) return p.key;
  }
  return null;
}
