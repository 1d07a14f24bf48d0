// @ts-check
/**
 * Pure DAG layout (no DOM): task list in, node boxes and edge routes out, left to right.
 *
 * Small graphs go through dagre (crossing minimisation, routed edges). dagre's cost grows
 * fast past a few hundred nodes (measured in node 20: ~1 s for a 1,000-node chain, ~50 s for
 * 1,000 nodes with random cross-layer edges), so larger graphs use `layered` below: the same
 * Sugiyama steps in linear passes (longest-path ranks tightened towards successors, a few
 * barycenter sweeps, isotonic placement) with bezier edges. It lays out 1,000+ tasks in
 * milliseconds, which is what "a 1,000-task DAG renders in under 2 s" needs.
 */
import dagre from "@dagrejs/dagre";

/**
 * @typedef {{id: number, name: string, state?: string, dependencies?: number[]}} Task
 * @typedef {{id: number, x: number, y: number, width: number, height: number}} NodeBox
 * @typedef {{x: number, y: number}} Point
 * @typedef {{from: number, to: number, points: Point[], curve: "spline" | "bezier"}} EdgeRoute
 * @typedef {{nodes: NodeBox[], edges: EdgeRoute[], width: number, height: number,
 *   engine: "dagre" | "layered"}} Layout
 */

export const NODE_HEIGHT = 30;
export const MIN_NODE_WIDTH = 72;
export const MAX_NODE_WIDTH = 210;
/** Graphs larger than this (nodes or edges) skip dagre. */
export const DAGRE_MAX_NODES = 100;
export const DAGRE_MAX_EDGES = 200;

const CHAR_WIDTH = 7.4; // ~12px UI font (DejaVu Sans / system-ui average)
const NODE_PADDING = 30; // state dot + margins

/** @param {string} name */
export function nodeWidth(name) {
  return Math.ceil(Math.min(MAX_NODE_WIDTH, Math.max(MIN_NODE_WIDTH, name.length * CHAR_WIDTH + NODE_PADDING)));
}

/**
 * The label drawn in a node of `width` px: the name, or its start with an ellipsis.
 * @param {string} name
 * @param {number} width
 */
export function nodeLabel(name, width) {
  const fits = Math.max(3, Math.floor((width - NODE_PADDING) / CHAR_WIDTH + 1e-6));
  return name.length <= fits ? name : `${name.slice(0, fits - 1)}…`;
}

/**
 * A key that changes only when the graph's shape does (not its states), so a live run
 * recolours nodes without laying the graph out again.
 * @param {Task[]} tasks
 */
export function structureKey(tasks) {
  return tasks.map((t) => `${t.id}:${t.name}<${(t.dependencies ?? []).join(",")}`).join("|");
}

/**
 * Edges as [from, to] pairs, dropping references to unknown ids and duplicates.
 * @param {Task[]} tasks
 * @returns {[number, number][]}
 */
export function edgesOf(tasks) {
  const known = new Set(tasks.map((t) => t.id));
  const seen = new Set();
  /** @type {[number, number][]} */
  const out = [];
  for (const t of tasks) {
    for (const d of t.dependencies ?? []) {
      const key = `${d}>${t.id}`;
      if (known.has(d) && d !== t.id && !seen.has(key)) {
        seen.add(key);
        out.push([d, t.id]);
      }
    }
  }
  return out;
}

/**
 * @param {Task[]} tasks
 * @param {{engine?: "auto" | "dagre" | "layered"}} [opts]
 * @returns {Layout}
 */
export function layoutDag(tasks, opts = {}) {
  const edges = edgesOf(tasks);
  const engine = opts.engine ?? "auto";
  const useDagre =
    engine === "dagre" || (engine === "auto" && tasks.length <= DAGRE_MAX_NODES && edges.length <= DAGRE_MAX_EDGES);
  return useDagre ? dagreLayout(tasks, edges) : layeredLayout(tasks, edges);
}

/**
 * @param {Task[]} tasks
 * @param {[number, number][]} edges
 * @returns {Layout}
 */
function dagreLayout(tasks, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 48, edgesep: 8, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of tasks) g.setNode(String(t.id), { width: nodeWidth(t.name), height: NODE_HEIGHT });
  for (const [a, b] of edges) g.setEdge(String(a), String(b));
  dagre.layout(g);
  const nodes = tasks.map((t) => {
    const n = g.node(String(t.id));
    return { id: t.id, x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const routes = edges.map(([a, b]) => {
    const e = g.edge(String(a), String(b));
    return {
      from: a,
      to: b,
      points: (e.points ?? []).map((/** @type {Point} */ p) => ({ x: p.x, y: p.y })),
      curve: /** @type {const} */ ("spline"),
    };
  });
  const label = g.graph();
  return { nodes, edges: routes, width: label.width ?? 0, height: label.height ?? 0, engine: "dagre" };
}

/**
 * Isotonic placement: positions as close to `desired` as possible (least squares) while
 * keeping order and `gaps[i]` between item i-1 and i. Pool-adjacent-violators, O(n).
 * @param {number[]} desired
 * @param {number[]} gaps  gaps[0] is ignored
 * @returns {number[]}
 */
export function placeInOrder(desired, gaps) {
  const n = desired.length;
  const offset = new Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) acc += gaps[i];
    offset[i] = acc;
  }
  /** @type {{sum: number, count: number, start: number}[]} */
  const blocks = [];
  for (let i = 0; i < n; i++) {
    blocks.push({ sum: desired[i] - offset[i], count: 1, start: i });
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1];
      const prev = blocks[blocks.length - 2];
      if (prev.sum / prev.count <= last.sum / last.count) break;
      prev.sum += last.sum;
      prev.count += last.count;
      blocks.pop();
    }
  }
  const out = new Array(n);
  for (const b of blocks) {
    const z = b.sum / b.count;
    for (let i = b.start; i < b.start + b.count; i++) out[i] = z + offset[i];
  }
  return out;
}

/**
 * @param {Task[]} tasks
 * @param {[number, number][]} edges
 * @returns {Layout}
 */
function layeredLayout(tasks, edges) {
  const n = tasks.length;
  const RANKSEP = 56;
  const NODESEP = 10;
  const MARGIN = 16;
  /** @type {Map<number, number>} */
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  /** @type {number[][]} */
  const preds = Array.from({ length: n }, () => []);
  /** @type {number[][]} */
  const succs = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    const ia = /** @type {number} */ (index.get(a));
    const ib = /** @type {number} */ (index.get(b));
    preds[ib].push(ia);
    succs[ia].push(ib);
  }

  // 1. Ranks: longest path from the sources (Kahn), then pull each node right up to its
  //    nearest successor so inputs sit next to what uses them.
  const indeg = preds.map((p) => p.length);
  const rank = new Array(n).fill(0);
  /** @type {number[]} */
  const topo = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) topo.push(i);
  for (let k = 0; k < topo.length; k++) {
    const u = topo[k];
    for (const v of succs[u]) {
      rank[v] = Math.max(rank[v], rank[u] + 1);
      if (--indeg[v] === 0) topo.push(v);
    }
  }
  if (topo.length < n) {
    // A cycle cannot come from a traced workflow; place what is left after the rest.
    const placed = new Set(topo);
    for (let i = 0; i < n; i++) if (!placed.has(i)) topo.push(i);
  }
  for (let k = topo.length - 1; k >= 0; k--) {
    const u = topo[k];
    if (succs[u].length) {
      let nearest = Infinity;
      for (const v of succs[u]) nearest = Math.min(nearest, rank[v]);
      if (nearest - 1 > rank[u]) rank[u] = nearest - 1;
    }
  }
  const maxRank = n ? Math.max(...rank) : 0;
  /** @type {number[][]} */
  const layers = Array.from({ length: maxRank + 1 }, () => []);
  for (let i = 0; i < n; i++) layers[rank[i]].push(i);

  // 2. Order within layers: barycenter sweeps on relative positions.
  const rel = new Array(n).fill(0);
  const setRel = () => {
    for (const layer of layers) layer.forEach((u, i) => (rel[u] = (i + 0.5) / layer.length));
  };
  setRel();
  /** @param {number[]} layer @param {number[][]} side */
  const sortLayer = (layer, side) => {
    const key = new Map();
    for (const u of layer) {
      const nb = side[u];
      let b = rel[u];
      if (nb.length) {
        b = 0;
        for (const v of nb) b += rel[v];
        b /= nb.length;
      }
      key.set(u, b);
    }
    layer.sort((a, b) => key.get(a) - key.get(b) || rel[a] - rel[b]);
    layer.forEach((u, i) => (rel[u] = (i + 0.5) / layer.length));
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    for (let r = 1; r <= maxRank; r++) sortLayer(layers[r], preds);
    for (let r = maxRank - 1; r >= 0; r--) sortLayer(layers[r], succs);
  }

  // 3. Coordinates: columns by rank; within a column, isotonic placement towards the mean
  //    of neighbours, alternating directions.
  const width = tasks.map((t) => nodeWidth(t.name));
  /** @type {number[]} */
  const colX = [];
  let x = MARGIN;
  for (const layer of layers) {
    let w = 0;
    for (const u of layer) w = Math.max(w, width[u]);
    colX.push(x + w / 2);
    x += w + RANKSEP;
  }
  const y = new Array(n).fill(0);
  for (const layer of layers) {
    const total = layer.length * (NODE_HEIGHT + NODESEP) - NODESEP;
    layer.forEach((u, i) => (y[u] = i * (NODE_HEIGHT + NODESEP) - total / 2));
  }
  /** @param {number[]} layer @param {number[][]} side */
  const place = (layer, side) => {
    const desired = layer.map((u) => {
      const nb = side[u];
      if (!nb.length) return y[u];
      let sum = 0;
      for (const v of nb) sum += y[v];
      return sum / nb.length;
    });
    const gaps = layer.map(() => NODE_HEIGHT + NODESEP);
    placeInOrder(desired, gaps).forEach((v, i) => (y[layer[i]] = v));
  };
  for (let pass = 0; pass < 3; pass++) {
    for (let r = 1; r <= maxRank; r++) place(layers[r], preds);
    for (let r = maxRank - 1; r >= 0; r--) place(layers[r], succs);
  }
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minY = Math.min(minY, y[i] - NODE_HEIGHT / 2);
    maxY = Math.max(maxY, y[i] + NODE_HEIGHT / 2);
  }
  if (!n) minY = maxY = 0;
  const shift = MARGIN - minY;
  const nodes = tasks.map((t, i) => ({
    id: t.id,
    x: colX[rank[i]],
    y: y[i] + shift,
    width: width[i],
    height: NODE_HEIGHT,
  }));
  const routes = edges.map(([a, b]) => {
    const na = nodes[/** @type {number} */ (index.get(a))];
    const nb = nodes[/** @type {number} */ (index.get(b))];
    return {
      from: a,
      to: b,
      points: [
        { x: na.x + na.width / 2, y: na.y },
        { x: nb.x - nb.width / 2, y: nb.y },
      ],
      curve: /** @type {const} */ ("bezier"),
    };
  });
  return { nodes, edges: routes, width: x - RANKSEP + MARGIN, height: maxY - minY + 2 * MARGIN, engine: "layered" };
}

/** @param {number} v */
const r1 = (v) => Math.round(v * 10) / 10;

/**
 * SVG path data for an edge route.
 * @param {EdgeRoute} edge
 */
export function edgePath(edge) {
  const p = edge.points;
  if (p.length < 2) return "";
  if (edge.curve === "bezier" || p.length === 2) {
    const [a, b] = [p[0], p[p.length - 1]];
    const dx = Math.max(20, (b.x - a.x) / 2);
    return `M${r1(a.x)},${r1(a.y)} C${r1(a.x + dx)},${r1(a.y)} ${r1(b.x - dx)},${r1(b.y)} ${r1(b.x)},${r1(b.y)}`;
  }
  // Through dagre's bend points with quadratic curves between their midpoints.
  let d = `M${r1(p[0].x)},${r1(p[0].y)}`;
  for (let i = 1; i < p.length - 1; i++) {
    const mx = (p[i].x + p[i + 1].x) / 2;
    const my = (p[i].y + p[i + 1].y) / 2;
    d += ` Q${r1(p[i].x)},${r1(p[i].y)} ${r1(mx)},${r1(my)}`;
  }
  const last = p[p.length - 1];
  return `${d} L${r1(last.x)},${r1(last.y)}`;
}

/**
 * @typedef {{x: number, y: number, k: number}} Transform  screen = world * k + (x, y)
 */

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 3;

/** @param {number} k */
export const clampZoom = (k) => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));

/**
 * The transform that shows a `width` x `height` graph whole in a viewport, never zoomed in
 * past 1 (small graphs stay readable-size, centred).
 * @param {number} width
 * @param {number} height
 * @param {number} vw
 * @param {number} vh
 * @returns {Transform}
 */
export function fitTransform(width, height, vw, vh) {
  if (width <= 0 || height <= 0 || vw <= 0 || vh <= 0) return { x: 0, y: 0, k: 1 };
  const k = clampZoom(Math.min(1, vw / width, vh / height));
  return { k, x: (vw - width * k) / 2, y: (vh - height * k) / 2 };
}

/**
 * Zoom by `factor` keeping the screen point (cx, cy) fixed.
 * @param {Transform} t
 * @param {number} factor
 * @param {number} cx
 * @param {number} cy
 * @returns {Transform}
 */
export function zoomAt(t, factor, cx, cy) {
  const k = clampZoom(t.k * factor);
  const f = k / t.k;
  return { k, x: cx - (cx - t.x) * f, y: cy - (cy - t.y) * f };
}

/**
 * The transform that centres world point (wx, wy) in the viewport at zoom `k`.
 * @param {number} wx
 * @param {number} wy
 * @param {number} vw
 * @param {number} vh
 * @param {number} k
 * @returns {Transform}
 */
export function centerOn(wx, wy, vw, vh, k) {
  return { k, x: vw / 2 - wx * k, y: vh / 2 - wy * k };
}

/**
 * Ids of tasks whose name contains `query` (case-insensitive), in task order.
 * @param {Task[]} tasks
 * @param {string} query
 */
export function findTasks(tasks, query) {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return tasks.filter((t) => t.name.toLowerCase().includes(q)).map((t) => t.id);
}

/**
 * The node to move keyboard focus to from `fromId` with an arrow key: the nearest node whose
 * centre lies in that direction (within a 45° cone), preferring the straight line.
 * @param {NodeBox[]} nodes
 * @param {number} fromId
 * @param {"left" | "right" | "up" | "down"} dir
 * @returns {number | null}
 */
export function nearestInDirection(nodes, fromId, dir) {
  const from = nodes.find((n) => n.id === fromId);
  if (!from) return nodes.length ? nodes[0].id : null;
  let best = null;
  let bestScore = Infinity;
  for (const n of nodes) {
    if (n.id === fromId) continue;
    const dx = n.x - from.x;
    const dy = n.y - from.y;
    const along = dir === "right" ? dx : dir === "left" ? -dx : dir === "down" ? dy : -dy;
    const across = Math.abs(dir === "left" || dir === "right" ? dy : dx);
    if (along <= 0 || across > along * 1.5 + 1) continue;
    const score = along + across * 3;
    if (score < bestScore) {
      bestScore = score;
      best = n.id;
    }
  }
  return best;
}

/**
 * @typedef {{id: number, name: string, state: string, reused: boolean, start: number | null,
 *   end: number | null, left: number, width: number, duration: number | null}} TimelineRow
 * @typedef {{rows: TimelineRow[], t0: number, span: number, ticks: {at: number, label: string}[]}} Timeline
 */

const TICK_STEPS = [
  0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200,
  86400,
];

/** @param {number} s  seconds from the start -> "+1.5 s", "+2m", "+1h 30m" */
export function offsetLabel(s) {
  if (s === 0) return "0";
  if (s < 1) return `+${Math.round(s * 1000)} ms`;
  if (s < 60) return `+${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  if (s < 3600) return `+${Math.floor(s / 60)}m${s % 60 ? ` ${Math.round(s % 60)}s` : ""}`;
  return `+${Math.floor(s / 3600)}h${s % 3600 ? ` ${Math.round((s % 3600) / 60)}m` : ""}`;
}

/**
 * A Gantt chart of a run's tasks: one row per task in start order (tasks that never started
 * last), each bar's left and width as fractions of the run's span, and time ticks.
 * @param {{id: number, name: string, state: string, start_time?: string | null,
 *   end_time?: string | null, result_from_run_id?: number | null}[]} tasks
 * @param {number} nowMs  running tasks' bars end now
 * @returns {Timeline}
 */
export function timelineLayout(tasks, nowMs) {
  const parse = (/** @type {string | null | undefined} */ s) => {
    if (!s) return null;
    const v = Date.parse(s);
    return Number.isNaN(v) ? null : v;
  };
  const items = tasks.map((t) => {
    const start = parse(t.start_time);
    let end = parse(t.end_time);
    if (start !== null && end === null && (t.state === "running" || t.state === "pending")) end = nowMs;
    return { t, start, end };
  });
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const { start, end } of items) {
    if (start !== null) t0 = Math.min(t0, start);
    if (end !== null) t1 = Math.max(t1, end);
    if (start !== null) t1 = Math.max(t1, start);
  }
  if (!Number.isFinite(t0)) {
    t0 = nowMs;
    t1 = nowMs;
  }
  const span = Math.max(1, t1 - t0);
  items.sort((a, b) => {
    if (a.start === null || b.start === null)
      return (a.start === null ? 1 : 0) - (b.start === null ? 1 : 0) || a.t.id - b.t.id;
    return a.start - b.start || a.t.id - b.t.id;
  });
  const rows = items.map(({ t, start, end }) => {
    const left = start === null ? 0 : (start - t0) / span;
    const width = start === null ? 0 : Math.max(0, ((end ?? start) - start) / span);
    return {
      id: t.id,
      name: t.name,
      state: t.state,
      reused: t.result_from_run_id != null,
      start,
      end,
      left,
      width,
      duration: start !== null && end !== null ? (end - start) / 1000 : null,
    };
  });
  const seconds = span / 1000;
  const step = TICK_STEPS.find((s) => seconds / s <= 6) ?? 86400 * Math.ceil(seconds / 86400 / 6);
  const ticks = [];
  for (let at = 0; at <= seconds + 1e-9; at += step)
    ticks.push({ at: (at * 1000) / span, label: offsetLabel(Math.round(at * 1000) / 1000) });
  return { rows, t0, span, ticks };
}

/**
 * The rows of a scrolled list of fixed-height rows that need elements: those in view and
 * `overscan` more on each side. A list not laid out yet (height 0) counts as `fallback` px tall.
 * @param {number} scrollTop
 * @param {number} viewHeight
 * @param {number} rowHeight
 * @param {number} count
 * @param {number} [overscan]
 * @param {number} [fallback]
 * @returns {{first: number, last: number}}  rows first..last-1
 */
export function visibleRows(scrollTop, viewHeight, rowHeight, count, overscan = 20, fallback = 400) {
  const height = viewHeight > 0 ? viewHeight : fallback;
  const top = Math.max(0, scrollTop);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + height) / rowHeight) + overscan);
  return { first: Math.min(first, last), last };
}
