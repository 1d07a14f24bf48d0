// @ts-check
/**
 * Tasks x runs: for the runs on the current page (newest left), each task's state and
 * duration, reused results marked, sortable by task order, name or mean duration. A cell
 * opens that task of that run.
 */
import { h, replace } from "../dom.js";
import { formatDuration, stateClass, stateLabel } from "../format.js";
import { sortGridTasks } from "../runs.js";

/** @typedef {import("../app.js").Ctx} Ctx */

/** @param {Ctx} ctx */
export function createGrid(ctx) {
  /** @type {"order" | "name" | "duration"} */
  let sort = "order";
  const sortSelect = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      {
        class: "dt-grid-sort",
        "aria-label": "Sort tasks",
        onchange: () => ((sort = /** @type {any} */ (sortSelect.value)), render()),
      },
      h("option", { value: "order", text: "Task order" }),
      h("option", { value: "name", text: "Name" }),
      h("option", { value: "duration", text: "Slowest first" }),
    )
  );
  const table = h("table", { class: "dt-table dt-grid-table" });
  const note = h("span", { class: "dt-faint" });
  const el = h(
    "div",
    { class: "dt-grid" },
    h("div", { class: "dt-grid-bar" }, h("label", { text: "Sort" }), sortSelect, note),
    h("div", { class: "dt-grid-scroll" }, table),
  );
  /** @type {any} */
  let grid = null;
  /** @type {string | null} */
  let only = null;
  /** @type {number | null} */
  let runId = null;

  function render() {
    if (!grid || !grid.runs) {
      replace(table, h("tbody", {}, h("tr", {}, h("td", { class: "dt-empty", text: "Loading…" }))));
      return;
    }
    const runs = grid.runs;
    note.textContent = `${runs.length} run${runs.length === 1 ? "" : "s"} of this page · ↺ reused`;
    const tasks = sortGridTasks(grid.tasks ?? [], sort);
    replace(
      table,
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { text: "Task" }),
          runs.map((/** @type {any} */ r) =>
            h(
              "th",
              {
                class: `dt-grid-run${r.run_id === runId ? " dt-on" : ""}`,
                title: `Run #${r.run_id} · ${stateLabel(r.state)} · v${r.job_version}`,
              },
              h("span", { class: `dt-dot ${stateClass(r.state)}` }),
              `#${r.run_id}`,
            ),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        tasks.map((/** @type {any} */ t) =>
          h(
            "tr",
            {},
            h("th", { class: "dt-grid-task", text: t.name }),
            runs.map((/** @type {any} */ r) => {
              const c = t.cells[String(r.run_id)];
              if (!c) return h("td", { class: "dt-grid-cell dt-grid-absent", text: "" });
              return h(
                "td",
                {
                  class: `dt-grid-cell ${stateClass(c.state)}${c.reused ? " dt-reused" : ""}${only && c.state !== only ? " dt-dim" : ""}`,
                  title: `${t.name} · run #${r.run_id} · ${stateLabel(c.state)} · ${formatDuration(c.duration)}${c.reused ? " · reused" : ""}`,
                  tabindex: 0,
                  dataset: { runId: r.run_id, taskId: c.id },
                  onclick: () => ctx.request("select_task", { run_id: r.run_id, task_id: c.id }),
                  onkeydown: (/** @type {KeyboardEvent} */ e) => {
                    if (e.key === "Enter") ctx.request("select_task", { run_id: r.run_id, task_id: c.id });
                  },
                },
                c.reused ? "↺ " : "",
                formatDuration(c.duration),
              );
            }),
          ),
        ),
      ),
    );
  }
  /**
   * @param {any} g
   * @param {string | null} onlyState
   * @param {number | null} selectedRun
   */
  function update(g, onlyState, selectedRun) {
    if (g === grid && onlyState === only && selectedRun === runId) return;
    grid = g;
    only = onlyState;
    runId = selectedRun;
    render();
  }
  return { el, update };
}
