// @ts-check
/**
 * The timeline (Gantt chart) of the selected run: a row per task in start order, its bar from
 * start to end on the run's time axis, reused tasks hatched, the selected one outlined. Bars
 * are plain absolutely positioned elements; a 1,000-task run draws in milliseconds.
 */
import { h, replace } from "../dom.js";
import { formatDuration, stateClass, stateLabel } from "../format.js";
import { timelineLayout } from "../layout.js";

/** @typedef {import("../app.js").Ctx} Ctx */

/** @param {Ctx} ctx */
export function createTimeline(ctx) {
  const axis = h("div", { class: "dt-tl-axis" });
  const rowsEl = h("div", { class: "dt-tl-rows", role: "list" });
  const el = h(
    "div",
    { class: "dt-timeline" },
    h("div", { class: "dt-tl-head" }, h("span", { class: "dt-tl-name-head", text: "Task" }), axis),
    h("div", { class: "dt-tl-scroll" }, rowsEl),
  );
  rowsEl.addEventListener("click", (e) => {
    const row = e.target instanceof Element ? e.target.closest("[data-task-id]") : null;
    if (row) ctx.selectTask(Number(/** @type {HTMLElement} */ (row).dataset.taskId));
  });
  rowsEl.addEventListener("keydown", (e) => {
    const row = e.target instanceof Element ? e.target.closest("[data-task-id]") : null;
    if (!row) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      ctx.selectTask(Number(/** @type {HTMLElement} */ (row).dataset.taskId));
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next instanceof HTMLElement) {
        row.removeAttribute("tabindex");
        next.setAttribute("tabindex", "0");
        next.focus();
      }
    }
  });

  /** @type {any} */
  let lastRun = null;
  /** @type {number | null} */
  let lastSel = null;
  /** @type {string | null} */
  let lastOnly = null;
  /**
   * @param {any} run
   * @param {number | null} taskId
   * @param {string | null} only
   */
  function update(run, taskId, only) {
    if (run === lastRun && taskId === lastSel && only === lastOnly) return;
    lastRun = run;
    lastSel = taskId;
    lastOnly = only;
    const t0 = performance.now();
    const tl = timelineLayout(run?.tasks ?? [], Date.now());
    replace(
      axis,
      tl.ticks.map((t) =>
        h("span", { class: "dt-tl-tick", style: { left: `${(t.at * 100).toFixed(3)}%` }, text: t.label }),
      ),
    );
    const frag = document.createDocumentFragment();
    for (const r of tl.rows) {
      const cls = `dt-tl-row ${stateClass(r.state)}${r.reused ? " dt-reused" : ""}${r.id === taskId ? " dt-selected" : ""}${only && r.state !== only ? " dt-dim" : ""}`;
      const title = `${r.name} · ${stateLabel(r.state)} · ${formatDuration(r.duration)}${r.reused ? " · reused" : ""}`;
      frag.appendChild(
        h(
          "div",
          { class: cls, role: "listitem", tabindex: r.id === taskId ? 0 : undefined, dataset: { taskId: r.id }, title },
          h("span", { class: "dt-tl-name", text: r.name }),
          h(
            "span",
            { class: "dt-tl-track" },
            r.start === null
              ? h("span", { class: "dt-tl-none", text: stateLabel(r.state) })
              : h("span", {
                  class: "dt-tl-bar",
                  style: { left: `${(r.left * 100).toFixed(3)}%`, width: `max(3px, ${(r.width * 100).toFixed(3)}%)` },
                }),
          ),
        ),
      );
    }
    rowsEl.replaceChildren(frag);
    if (taskId === null && rowsEl.firstElementChild) rowsEl.firstElementChild.setAttribute("tabindex", "0");
    el.dataset.rows = String(tl.rows.length);
    el.dataset.renderMs = (performance.now() - t0).toFixed(1);
  }
  return { el, update };
}
