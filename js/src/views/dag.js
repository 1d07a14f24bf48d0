// @ts-check
/**
 * The DAG of the selected run: laid out once per graph shape (layout.js), recoloured in place
 * while the run is live, with zoom (buttons, Ctrl/⌘+wheel, pinch), pan (drag) and a task
 * finder for graphs of hundreds of tasks. Clicking a node selects that task.
 */
import { h, replace, s } from "../dom.js";
import { STATES, elapsed, formatDuration, stateClass, stateLabel } from "../format.js";
import {
  centerOn,
  edgePath,
  findTasks,
  fitTransform,
  layoutDag,
  nearestInDirection,
  nodeLabel,
  structureKey,
  zoomAt,
} from "../layout.js";

/** @typedef {import("../app.js").Ctx} Ctx */
/** @typedef {import("../layout.js").Layout} Layout */

let instances = 0;
const MIN_VIEW_HEIGHT = 150;
const MAX_VIEW_HEIGHT = 420;
const LOD_ZOOM = 0.45;
/** Layouts by graph shape, shared by all views: switching between runs of a version is free. */
const layoutCache = new Map();

/**
 * @param {any[]} tasks
 * @returns {{layout: Layout, ms: number}}
 */
function cachedLayout(tasks) {
  const key = structureKey(tasks);
  const hit = layoutCache.get(key);
  if (hit) return { layout: hit, ms: 0 };
  const t0 = performance.now();
  const layout = layoutDag(tasks);
  const ms = performance.now() - t0;
  layoutCache.set(key, layout);
  if (layoutCache.size > 8) layoutCache.delete(layoutCache.keys().next().value);
  return { layout, ms };
}

/**
 * @param {any} task
 * @param {number} now
 */
function nodeTitle(task, now) {
  const parts = [task.name, stateLabel(task.state)];
  const d = elapsed(task, now);
  if (d !== null) parts.push(formatDuration(d));
  if (task.result_from_run_id != null) parts.push(`reused from run #${task.result_from_run_id}`);
  return parts.join(" · ");
}

/**
 * The class of a node: its state, reused or not, selected, matching the finder, dimmed by
 * the task-state filter.
 * @param {any} task
 * @param {{selected: number | null, matches: number[], only: string | null}} opts
 */
export function nodeClass(task, opts) {
  let cls = `dt-node ${stateClass(task.state)}`;
  if (task.result_from_run_id != null) cls += " dt-reused";
  if (task.id === opts.selected) cls += " dt-selected";
  if (opts.matches.includes(task.id)) cls += " dt-match";
  if (opts.only && task.state !== opts.only) cls += " dt-dim";
  return cls;
}

/**
 * The "↺" drawn at the right end of a reused task's box (only those: 1,000-task graphs stay light).
 * @param {number} width
 * @param {number} height
 */
function reusedMark(width, height) {
  return s("text", { class: "dt-reused-mark", x: width - 5, y: height / 2, text: "↺" });
}

/** @param {Ctx} ctx */
export function createDagView(ctx) {
  const uid = `dt${++instances}-${Math.random().toString(36).slice(2, 8)}`;
  const viewport = s("g", { class: "dt-viewport" });
  const svg = s(
    "svg",
    { class: "dt-dag-svg", role: "img", "aria-label": "Task graph" },
    s(
      "defs",
      {},
      s(
        "marker",
        {
          id: `${uid}-arrow`,
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        s("path", { class: "dt-arrow", d: "M0,0 L10,5 L0,10 z" }),
      ),
    ),
    viewport,
  );
  const view = h(
    "div",
    { class: "dt-dag-view" },
    svg,
    h("span", { class: "dt-dag-hint", text: "Drag to pan · Ctrl+scroll to zoom · Tab, arrows, Enter" }),
  );
  const search = /** @type {HTMLInputElement} */ (
    h("input", { type: "search", class: "dt-find", placeholder: "Find task…", "aria-label": "Find task" })
  );
  const found = h("span", { class: "dt-faint dt-found" });
  const legend = h("span", { class: "dt-legend" });
  const bar = h(
    "div",
    { class: "dt-dag-bar" },
    h("button", { class: "dt-small dt-zoom-out", title: "Zoom out", text: "−", onclick: () => zoomBy(1 / 1.25) }),
    h("button", { class: "dt-small dt-zoom-in", title: "Zoom in", text: "+", onclick: () => zoomBy(1.25) }),
    h("button", { class: "dt-small dt-fit", title: "Fit the whole graph", text: "Fit", onclick: () => fit() }),
    h("button", { class: "dt-small dt-actual", title: "Actual size", text: "1:1", onclick: () => zoomTo(1) }),
    search,
    found,
    h("span", { class: "dt-spacer" }),
    legend,
  );
  const el = h("div", { class: "dt-dag" }, bar, view);

  let key = "";
  /** @type {Layout | null} */
  let layout = null;
  /** @type {Map<number, SVGElement>} */
  let nodeEls = new Map();
  /** @type {Map<number, SVGElement[]>} */
  let edgeEls = new Map();
  /** @type {Map<number, any>} */
  let taskById = new Map();
  let transform = { x: 0, y: 0, k: 1 };
  let touched = false; // the user zoomed or panned: keep their view on resize/updates
  let needsFit = true;
  /** @type {number | null} */
  let selected = null;
  /** @type {number[]} */
  let matches = [];
  let matchIndex = -1;
  /** @type {string | null} */
  let only = null;

  const apply = () => {
    viewport.setAttribute(
      "transform",
      `translate(${transform.x.toFixed(1)},${transform.y.toFixed(1)}) scale(${transform.k.toFixed(4)})`,
    );
    // Zoomed far out, names are unreadable: draw states as solid blocks instead.
    svg.classList.toggle("dt-lod", transform.k < LOD_ZOOM);
  };
  const size = () => ({ w: view.clientWidth, h: view.clientHeight });

  function fit() {
    if (!layout) return;
    const { w, h: vh } = size();
    if (!w || !vh) {
      needsFit = true;
      return;
    }
    transform = fitTransform(layout.width, layout.height, w, vh);
    needsFit = false;
    touched = false;
    apply();
  }
  /** @param {number} factor */
  function zoomBy(factor) {
    const { w, h: vh } = size();
    transform = zoomAt(transform, factor, w / 2, vh / 2);
    touched = true;
    apply();
  }
  /** @param {number} k */
  function zoomTo(k) {
    zoomBy(k / transform.k);
  }
  /** @param {number} id */
  function centerOnTask(id) {
    const node = layout?.nodes.find((n) => n.id === id);
    if (!node) return;
    const { w, h: vh } = size();
    transform = centerOn(node.x, node.y, w, vh, Math.max(transform.k, 0.8));
    touched = true;
    apply();
  }

  /** True when no part of the graph is inside the view any more (e.g. after a resize). */
  function lost() {
    if (!layout) return false;
    const { w, h: vh } = size();
    const x0 = transform.x;
    const y0 = transform.y;
    const x1 = x0 + layout.width * transform.k;
    const y1 = y0 + layout.height * transform.k;
    return x1 < 0 || y1 < 0 || x0 > w || y0 > vh;
  }
  new ResizeObserver(() => {
    if (needsFit || !touched || lost()) fit();
  }).observe(view);

  // Pan by dragging; a press that does not move is a click on whatever was under it.
  /** @type {{x: number, y: number, tx: number, ty: number, id: number, moved: boolean, target: EventTarget | null} | null} */
  let drag = null;
  view.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    drag = {
      x: e.clientX,
      y: e.clientY,
      tx: transform.x,
      ty: transform.y,
      id: e.pointerId,
      moved: false,
      target: e.target,
    };
  });
  view.addEventListener("pointermove", (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    if (!drag.moved) {
      drag.moved = true;
      view.setPointerCapture(e.pointerId);
      view.classList.add("dt-dragging");
    }
    transform = { ...transform, x: drag.tx + dx, y: drag.ty + dy };
    touched = true;
    apply();
  });
  /** @param {PointerEvent} e */
  const endDrag = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const wasClick = !drag.moved;
    const target = drag.target;
    drag = null;
    view.classList.remove("dt-dragging");
    if (view.hasPointerCapture(e.pointerId)) view.releasePointerCapture(e.pointerId);
    if (wasClick && target instanceof Element) {
      const node = target.closest("[data-task-id]");
      if (node) ctx.selectTask(Number(/** @type {HTMLElement} */ (/** @type {unknown} */ (node)).dataset.taskId));
    }
  };
  view.addEventListener("pointerup", endDrag);
  view.addEventListener("pointercancel", endDrag);
  view.addEventListener(
    "wheel",
    (e) => {
      // Plain wheel scrolls the notebook; Ctrl/⌘ (and trackpad pinch) zooms the graph.
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const r = view.getBoundingClientRect();
      transform = zoomAt(transform, Math.exp(-e.deltaY * 0.002), e.clientX - r.left, e.clientY - r.top);
      touched = true;
      apply();
    },
    { passive: false },
  );
  // Highlight a node's edges on hover: the way to follow one task in a big graph.
  /** @type {SVGElement[]} */
  let hot = [];
  view.addEventListener("pointerover", (e) => {
    const node = e.target instanceof Element ? e.target.closest("[data-task-id]") : null;
    for (const p of hot) p.classList.remove("dt-edge-hot");
    hot = node
      ? (edgeEls.get(Number(/** @type {HTMLElement} */ (/** @type {unknown} */ (node)).dataset.taskId)) ?? [])
      : [];
    for (const p of hot) p.classList.add("dt-edge-hot");
  });
  view.addEventListener("pointerleave", () => {
    for (const p of hot) p.classList.remove("dt-edge-hot");
    hot = [];
  });

  /** @type {number | null} */
  let tabbable = null;
  /** Put node `id` (alone) in the tab order. @param {number} id */
  function rove(id) {
    const g = nodeEls.get(id);
    if (!g) return;
    if (tabbable !== null && tabbable !== id) nodeEls.get(tabbable)?.removeAttribute("tabindex");
    g.setAttribute("tabindex", "0");
    tabbable = id;
  }
  // Keyboard: one node is in the tab order (the selected one, else the first); arrows move
  // between nodes by where they are drawn, Enter or Space opens the focused task.
  /** @param {number} id */
  function focusNode(id) {
    const g = nodeEls.get(id);
    if (!g) return;
    rove(id);
    const node = layout?.nodes.find((n) => n.id === id);
    if (node) {
      const { w, h: vh } = size();
      const sx = node.x * transform.k + transform.x;
      const sy = node.y * transform.k + transform.y;
      if (sx < 0 || sy < 0 || sx > w || sy > vh) centerOnTask(id);
    }
    /** @type {any} */ (g).focus({ preventScroll: true });
  }
  view.addEventListener("keydown", (e) => {
    const target = e.target instanceof Element ? e.target.closest("[data-task-id]") : null;
    if (!target || !layout) return;
    const id = Number(/** @type {HTMLElement} */ (/** @type {unknown} */ (target)).dataset.taskId);
    /** @type {Record<string, "left" | "right" | "up" | "down">} */
    const dirs = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      ctx.selectTask(id);
    } else if (dirs[e.key]) {
      e.preventDefault();
      const next = nearestInDirection(layout.nodes, id, dirs[e.key]);
      if (next !== null) focusNode(next);
    }
  });

  search.addEventListener("input", () => {
    matches = findTasks([...taskById.values()], search.value);
    matchIndex = -1;
    for (const [id, g] of nodeEls) g.classList.toggle("dt-match", matches.includes(id));
    found.textContent = search.value.trim() ? `${matches.length} match${matches.length === 1 ? "" : "es"}` : "";
  });
  search.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !matches.length) return;
    matchIndex = (matchIndex + 1) % matches.length;
    const id = matches[matchIndex];
    centerOnTask(id);
    ctx.selectTask(id);
  });

  /** @param {any[]} tasks */
  function build(tasks) {
    const t0 = performance.now();
    const { layout: l, ms } = cachedLayout(tasks);
    layout = l;
    const edgeGroup = s("g", { class: "dt-edges" });
    const nodeGroup = s("g", { class: "dt-nodes" });
    edgeEls = new Map();
    for (const e of l.edges) {
      const p = s("path", { class: "dt-edge", d: edgePath(e), "marker-end": `url(#${uid}-arrow)` });
      edgeGroup.appendChild(p);
      for (const id of [e.from, e.to]) {
        const list = edgeEls.get(id) ?? [];
        list.push(p);
        edgeEls.set(id, list);
      }
    }
    nodeEls = new Map();
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const now = Date.now();
    let first = true;
    for (const n of l.nodes) {
      const task = byId.get(n.id);
      const g = s(
        "g",
        {
          class: nodeClass(task, { selected, matches, only }),
          // Roving focus: only one node is in the tab order (see rove).
          tabindex: first ? 0 : undefined,
          transform: `translate(${(n.x - n.width / 2).toFixed(1)},${(n.y - n.height / 2).toFixed(1)})`,
          dataset: { taskId: n.id, taskName: task.name },
          "aria-label": `${task.name} ${stateLabel(task.state)}`,
        },
        s("title", { text: nodeTitle(task, now) }),
        s("rect", { width: n.width, height: n.height, rx: 5 }),
        s("rect", { class: "dt-node-bar", x: 0, y: 0, width: 5, height: n.height, rx: 2 }),
        s("text", { x: 13, y: n.height / 2, text: nodeLabel(task.name, n.width) }),
      );
      if (task.result_from_run_id != null) g.appendChild(reusedMark(n.width, n.height));
      first = false;
      nodeEls.set(n.id, g);
      nodeGroup.appendChild(g);
    }
    replace(viewport, edgeGroup, nodeGroup);
    tabbable = l.nodes.length ? l.nodes[0].id : null;
    // Small graphs get a short panel; big ones the full height to pan and zoom in.
    view.style.height = `${Math.round(Math.min(MAX_VIEW_HEIGHT, Math.max(MIN_VIEW_HEIGHT, l.height + 56)))}px`;
    el.dataset.layoutMs = ms.toFixed(1);
    el.dataset.renderMs = (performance.now() - t0).toFixed(1);
    el.dataset.engine = l.engine;
    el.dataset.nodes = String(l.nodes.length);
  }

  /** @param {any[]} tasks */
  function recolor(tasks) {
    const now = Date.now();
    for (const task of tasks) {
      const g = nodeEls.get(task.id);
      if (!g) continue;
      const cls = nodeClass(task, { selected, matches, only });
      if (task.result_from_run_id != null && !g.querySelector(".dt-reused-mark")) {
        const box = layout?.nodes.find((n) => n.id === task.id);
        if (box) g.appendChild(reusedMark(box.width, box.height));
      }
      if (g.getAttribute("class") !== cls) g.setAttribute("class", cls);
      const label = `${task.name} ${stateLabel(task.state)}${task.result_from_run_id != null ? " reused" : ""}`;
      if (g.getAttribute("aria-label") !== label) g.setAttribute("aria-label", label);
      const title = /** @type {SVGElement} */ (g.firstChild);
      const text = nodeTitle(task, now);
      if (title.textContent !== text) title.textContent = text;
    }
  }

  /** @param {any[]} tasks */
  function updateLegend(tasks) {
    const present = new Set(tasks.map((t) => t.state));
    const reused = tasks.filter((t) => t.result_from_run_id != null).length;
    replace(
      legend,
      STATES.filter((st) => present.has(st)).map((st) => {
        const n = tasks.filter((t) => t.state === st).length;
        return h("span", { class: stateClass(st), text: `${stateLabel(st)} ${n}` });
      }),
      reused ? h("span", { class: "dt-legend-reused", text: `↺ reused ${reused}` }) : null,
    );
  }

  /** @type {any} */
  let lastRun = null;
  /**
   * @param {any} run  run details with `tasks`
   * @param {number | null} taskId  the selected task
   * @param {string | null} [onlyState]  dim the tasks in other states
   */
  function update(run, taskId, onlyState = null) {
    only = onlyState;
    const tasks = run?.tasks ?? [];
    if (run !== lastRun) {
      lastRun = run;
      taskById = new Map(tasks.map((/** @type {any} */ t) => [t.id, t]));
      const k = structureKey(tasks);
      if (k !== key) {
        key = k;
        build(tasks);
        search.dispatchEvent(new Event("input"));
        fit();
      }
      updateLegend(tasks);
    }
    if (taskId !== selected && taskId != null && nodeEls.has(taskId)) rove(taskId);
    selected = taskId;
    recolor(tasks);
  }

  return { el, update, fit };
}
