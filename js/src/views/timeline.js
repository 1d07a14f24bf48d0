// @ts-check
/**
 * The timeline (Gantt chart) of the selected run: a row per task in start order, its bar from
 * start to end on the run's time axis, reused tasks hatched, the selected one outlined.
 *
 * Rows have a fixed height, so only those in view (and a screenful either side) exist as
 * elements; scrolling swaps them. A 1,000-task run paints as fast as a 50-task one. The row that
 * holds the keyboard's tab stop (the selected task, else the one last focused) always exists,
 * and the arrow keys scroll the next row into view before focusing it.
 */
import { h, replace } from "../dom.js";
import { formatDuration, stateClass, stateLabel } from "../format.js";
import { timelineLayout, visibleRows } from "../layout.js";

/** px; the same as `.dt-tl-row { height }` in styles.css */
export const ROW_HEIGHT = 20;

/** @typedef {import("../app.js").Ctx} Ctx */

/** @param {Ctx} ctx */
export function createTimeline(ctx) {
  const axis = h("div", { class: "dt-tl-axis" });
  const rowsEl = h("div", { class: "dt-tl-rows", role: "list" });
  const scroll = h("div", { class: "dt-tl-scroll" }, rowsEl);
  const el = h(
    "div",
    { class: "dt-timeline" },
    h("div", { class: "dt-tl-head" }, h("span", { class: "dt-tl-name-head", text: "Task" }), axis),
    scroll,
  );
  /** @type {ReturnType<typeof timelineLayout>["rows"]} */
  let rows = [];
  /** @type {number | null} */
  let selected = null;
  /** @type {string | null} */
  let only = null;
  /** the row index of the tab stop */
  let stop = 0;
  /** the rows that have elements now, by index */
  /** @type {Map<number, HTMLElement>} */
  let shown = new Map();

  /** @param {number} i */
  function rowElement(i) {
    const r = rows[i];
    const cls = `dt-tl-row ${stateClass(r.state)}${r.reused ? " dt-reused" : ""}${r.id === selected ? " dt-selected" : ""}${only && r.state !== only ? " dt-dim" : ""}`;
    const title = `${r.name} · ${stateLabel(r.state)} · ${formatDuration(r.duration)}${r.reused ? " · reused" : ""}`;
    return h(
      "div",
      {
        class: cls,
        role: "listitem",
        "aria-setsize": rows.length,
        "aria-posinset": i + 1,
        tabindex: i === stop ? 0 : undefined,
        dataset: { taskId: r.id, index: i },
        title,
        style: { top: `${i * ROW_HEIGHT}px` },
      },
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
    );
  }

  /** Give the rows in view (and the tab stop's) elements; drop the others. */
  function drawWindow() {
    const { first, last } = visibleRows(scroll.scrollTop, scroll.clientHeight, ROW_HEIGHT, rows.length);
    const want = new Set();
    for (let i = first; i < last; i++) want.add(i);
    if (stop < rows.length) want.add(stop);
    const next = new Map();
    const frag = document.createDocumentFragment();
    for (const i of want) {
      const kept = shown.get(i);
      if (kept) next.set(i, kept);
      else {
        const node = rowElement(i);
        next.set(i, node);
        frag.appendChild(node);
      }
    }
    for (const [i, node] of shown) if (!next.has(i)) node.remove();
    rowsEl.appendChild(frag);
    shown = next;
  }

  let pending = false;
  scroll.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      drawWindow();
    });
  });

  rowsEl.addEventListener("click", (e) => {
    const row = e.target instanceof Element ? e.target.closest("[data-task-id]") : null;
    if (row) ctx.selectTask(Number(/** @type {HTMLElement} */ (row).dataset.taskId));
  });
  rowsEl.addEventListener("keydown", (e) => {
    const row = e.target instanceof Element ? e.target.closest("[data-task-id]") : null;
    if (!row) return;
    const index = Number(/** @type {HTMLElement} */ (row).dataset.index);
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      ctx.selectTask(Number(/** @type {HTMLElement} */ (row).dataset.taskId));
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const to = index + (e.key === "ArrowDown" ? 1 : -1);
      if (to < 0 || to >= rows.length) return;
      moveStop(to);
      const top = to * ROW_HEIGHT;
      if (top < scroll.scrollTop) scroll.scrollTop = top;
      else if (top + ROW_HEIGHT > scroll.scrollTop + scroll.clientHeight)
        scroll.scrollTop = top + ROW_HEIGHT - scroll.clientHeight;
      drawWindow();
      shown.get(to)?.focus();
    }
  });

  /** @param {number} to */
  function moveStop(to) {
    shown.get(stop)?.removeAttribute("tabindex");
    stop = to;
    shown.get(stop)?.setAttribute("tabindex", "0");
  }

  /** @type {any} */
  let lastRun = null;
  /**
   * @param {any} run
   * @param {number | null} taskId
   * @param {string | null} onlyState
   */
  function update(run, taskId, onlyState) {
    if (run === lastRun && taskId === selected && onlyState === only) return;
    const sameRows = run === lastRun;
    lastRun = run;
    selected = taskId;
    only = onlyState;
    const t0 = performance.now();
    const tl = timelineLayout(run?.tasks ?? [], Date.now());
    if (!sameRows)
      replace(
        axis,
        tl.ticks.map((t) =>
          h("span", { class: "dt-tl-tick", style: { left: `${(t.at * 100).toFixed(3)}%` }, text: t.label }),
        ),
      );
    rows = tl.rows;
    const at = taskId === null ? -1 : rows.findIndex((r) => r.id === taskId);
    stop = at >= 0 ? at : sameRows ? Math.min(stop, Math.max(0, rows.length - 1)) : 0;
    rowsEl.style.height = `${rows.length * ROW_HEIGHT}px`;
    rowsEl.replaceChildren();
    shown = new Map();
    drawWindow();
    el.dataset.rows = String(rows.length);
    el.dataset.renderMs = (performance.now() - t0).toFixed(1);
  }
  return { el, update };
}
