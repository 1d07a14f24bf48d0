// @ts-check
/** The run table of the selected workflow: reruns grouped under their original, paging. */
import { h, replace } from "../dom.js";
import { elapsed, formatCount, formatDuration, formatTime, isActive, stateClass, stateLabel } from "../format.js";

import { groupRuns, pageInfo } from "../runs.js";
import { badge } from "./overview.js";

/** The run states offered as filters (the rest are rare: the dt CLI filters by any). */
const FILTER_STATES = ["running", "completed", "failed", "stopped", "pending"];
/** What starts a run, offered as filters (the kernel filters in the store: every page). */
export const FILTER_TRIGGERS = ["local", "deploy", "manual", "schedule", "rerun"];

/** @typedef {import("../app.js").Ctx} Ctx */

/** @param {Ctx} ctx */
export function createRunsPanel(ctx) {
  /** @type {Set<number>} */
  const collapsed = new Set();
  const count = h("span", { class: "dt-count" });
  const tbody = h("tbody");
  const pager = h("div", { class: "dt-pager" });
  const scroll = h(
    "div",
    { class: "dt-runs-scroll" },
    h(
      "table",
      { class: "dt-table dt-runs-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { text: "" }),
          h("th", { text: "Run" }),
          h("th", { text: "State" }),
          h("th", { text: "Start (UTC)" }),
          h("th", { class: "dt-num", text: "Duration" }),
          h("th", { text: "Version" }),
          h("th", { text: "" }),
        ),
      ),
      tbody,
    ),
  );
  const filters = h("span", { class: "dt-run-filters", role: "group", "aria-label": "Show runs in these states" });
  const triggerFilters = h("span", {
    class: "dt-run-filters dt-trigger-filters",
    role: "group",
    "aria-label": "Show runs started this way",
  });
  const versionSelect = /** @type {HTMLSelectElement} */ (
    h("select", {
      class: "dt-version-filter",
      "aria-label": "Show runs of this version",
      onchange: () => {
        const v = versionSelect.value;
        ctx.request("set_filter", { versions: v ? [Number(v)] : [] });
      },
    })
  );
  const el = h(
    "div",
    { class: "dt-panel dt-runs-panel" },
    h("div", { class: "dt-h" }, "Runs", count, filters),
    h("div", { class: "dt-filter-row" }, triggerFilters, versionSelect),
    scroll,
    pager,
  );
  /** @param {string[]} current */
  function renderTriggerFilters(current) {
    const on = new Set(current ?? []);
    const toggle = (/** @type {string} */ trigger) => {
      const next = new Set(on);
      if (next.has(trigger)) next.delete(trigger);
      else next.add(trigger);
      ctx.request("set_filter", { triggers: FILTER_TRIGGERS.filter((x) => next.has(x)) });
    };
    replace(
      triggerFilters,
      h("button", {
        class: `dt-small dt-filter dt-trigger-filter${on.size ? "" : " dt-on"}`,
        dataset: { trigger: "" },
        "aria-pressed": String(!on.size),
        title: "Runs started in any way",
        text: "any trigger",
        onclick: () => ctx.request("set_filter", { triggers: [] }),
      }),
      FILTER_TRIGGERS.map((trigger) =>
        h("button", {
          class: `dt-small dt-filter dt-trigger-filter${on.has(trigger) ? " dt-on" : ""}`,
          dataset: { trigger },
          "aria-pressed": String(on.has(trigger)),
          text: trigger,
          onclick: () => toggle(trigger),
        }),
      ),
    );
  }
  /**
   * @param {any[]} versions
   * @param {number[]} current
   */
  function renderVersionFilter(versions, current) {
    const chosen = (current ?? []).length === 1 ? String(current[0]) : "";
    const numbers = (versions ?? [])
      .map((/** @type {any} */ v) => v.job_version)
      .sort((/** @type {number} */ a, /** @type {number} */ b) => b - a);
    replace(
      versionSelect,
      h("option", { value: "", text: "every version" }),
      numbers.map((/** @type {number} */ n) => h("option", { value: String(n), text: `v${n}` })),
    );
    versionSelect.value = chosen;
  }
  /** @param {string[]} current */
  function renderFilters(current) {
    const on = new Set(current ?? []);
    const toggle = (/** @type {string} */ state) => {
      const next = new Set(on);
      if (next.has(state)) next.delete(state);
      else next.add(state);
      ctx.request("set_filter", { states: FILTER_STATES.filter((x) => next.has(x)) });
    };
    replace(
      filters,
      h("button", {
        class: `dt-small dt-filter${on.size ? "" : " dt-on"}`,
        dataset: { state: "" },
        "aria-pressed": String(!on.size),
        text: "all",
        onclick: () => ctx.request("set_filter", { states: [] }),
      }),
      FILTER_STATES.map((state) =>
        h("button", {
          class: `dt-small dt-filter ${stateClass(state)}${on.has(state) ? " dt-on" : ""}`,
          dataset: { state },
          "aria-pressed": String(on.has(state)),
          text: stateLabel(state),
          onclick: () => toggle(state),
        }),
      ),
    );
  }

  /** @type {Record<string, any>} */
  let last = {};
  /** @param {Record<string, any>} st */
  function render(st) {
    const info = pageInfo(st.page, st.page_size, st.run_count);
    const ranged =
      st.start_time ||
      st.end_time ||
      (st.state_filter ?? []).length ||
      (st.trigger_filter ?? []).length ||
      (st.version_filter ?? []).length;
    renderFilters(st.state_filter);
    renderTriggerFilters(st.trigger_filter);
    renderVersionFilter(st.versions, st.version_filter);
    count.textContent = `${formatCount(st.run_count)} ${st.run_count === 1 ? "run" : "runs"}${ranged ? " shown" : ""}`;
    const rows = groupRuns(st.runs ?? [], collapsed);
    const now = Date.now();
    if (!rows.length) {
      replace(
        tbody,
        h(
          "tr",
          {},
          h("td", {
            colspan: 7,
            class: "dt-empty",
            text: ranged ? "No runs match the range and filters." : "This workflow has no runs yet.",
          }),
        ),
      );
    } else {
      replace(
        tbody,
        rows.map(({ run, depth, children, orphan }) => {
          const selected = run.run_id === st.run_id;
          const select = () => ctx.request("select_run", { run_id: run.run_id });
          const fold =
            children > 0
              ? h("button", {
                  class: "dt-fold",
                  title: collapsed.has(run.run_id) ? `Show ${children} rerun(s)` : "Hide reruns",
                  "aria-expanded": String(!collapsed.has(run.run_id)),
                  text: collapsed.has(run.run_id) ? "▸" : "▾",
                  onclick: (/** @type {Event} */ e) => {
                    e.stopPropagation();
                    if (collapsed.has(run.run_id)) collapsed.delete(run.run_id);
                    else collapsed.add(run.run_id);
                    render(last);
                  },
                })
              : null;
          const tags = [];
          if (children > 0 && collapsed.has(run.run_id))
            tags.push(h("span", { class: "dt-tag", text: `+${children} rerun${children > 1 ? "s" : ""}` }));
          if (depth === 1 || orphan) {
            tags.push(
              h("span", {
                class: "dt-tag",
                title: "Rerun",
                text: `rerun of #${run.rerun_of ?? run.original_run_id}${run.full ? " · full" : ""}`,
              }),
            );
          } else if (run.trigger && run.trigger !== "local") {
            tags.push(h("span", { class: "dt-tag", text: run.trigger }));
          }
          const tr = h(
            "tr",
            {
              class: [
                "dt-clickable",
                depth ? "dt-child" : "",
                selected ? "dt-selected" : "",
                run.run_id === ctx.flashRunId ? "dt-flash" : "",
              ]
                .join(" ")
                .trim(),
              tabindex: 0,
              dataset: { runId: run.run_id },
              "aria-selected": String(selected),
              onclick: select,
              onkeydown: (/** @type {KeyboardEvent} */ e) => {
                if (e.key === "Enter") select();
              },
            },
            h("td", {}, fold),
            h("td", { class: "dt-id" }, `#${run.run_id} `, tags),
            h("td", {}, badge(run.state)),
            h("td", { class: "dt-time", text: formatTime(run.start_time) }),
            h("td", {
              class: "dt-num",
              dataset: isActive(run.state) ? { live: "1" } : {},
              text: formatDuration(elapsed(run, now)),
            }),
            h("td", { text: run.job_version != null ? `v${run.job_version}` : "—" }),
            h(
              "td",
              {},
              h("button", {
                class: "dt-small dt-rerun-btn",
                title: `Rerun run #${run.run_id}`,
                "aria-label": `Rerun run ${run.run_id}`,
                text: "↻",
                onclick: (/** @type {Event} */ e) => {
                  e.stopPropagation();
                  ctx.openRerun(run);
                },
              }),
            ),
          );
          return tr;
        }),
      );
    }
    replace(
      pager,
      h("span", {
        text: st.run_count ? `${formatCount(info.from)}–${formatCount(info.to)} of ${formatCount(st.run_count)}` : "",
      }),
      h("button", {
        class: "dt-small dt-prev",
        text: "‹ Newer",
        disabled: !info.hasPrev,
        onclick: () => ctx.request("set_page", { page: info.page - 1 }),
      }),
      h("span", { class: "dt-page-label", text: `Page ${formatCount(info.page + 1)} of ${formatCount(info.pages)}` }),
      h("button", {
        class: "dt-small dt-next",
        text: "Older ›",
        disabled: !info.hasNext,
        onclick: () => ctx.request("set_page", { page: info.page + 1 }),
      }),
    );
  }

  /** @param {Record<string, any>} st */
  function update(st) {
    const keys = [
      "runs",
      "run_id",
      "page",
      "page_size",
      "run_count",
      "start_time",
      "end_time",
      "state_filter",
      "trigger_filter",
      "version_filter",
      "versions",
    ];
    if (keys.every((k) => st[k] === last[k]) && ctx.flashRunId === last.__flash) return;
    last = { ...st, __flash: ctx.flashRunId };
    render(st);
  }

  /** Durations of running runs tick between updates from the kernel. */
  function tick() {
    const now = Date.now();
    for (const td of tbody.querySelectorAll("td[data-live]")) {
      const id = Number(/** @type {HTMLElement} */ (td.parentElement).dataset.runId);
      const run = (last.runs ?? []).find((/** @type {any} */ r) => r.run_id === id);
      if (run) td.textContent = formatDuration(elapsed(run, now));
    }
  }
  return { el, update, tick };
}
