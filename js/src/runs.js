// @ts-check
/**
 * Pure logic of the run table: grouping reruns under the run they re-ran, and paging.
 *
 * A page holds runs newest first. A rerun carries `original_run_id`, the first run of its
 * chain (the run that was rerun first, never itself a rerun). Reruns whose original is on the
 * same page are shown right under it, newest first, and the group keeps the original's place;
 * a rerun whose original is on another page stays a top-level row and says which run it re-ran.
 */

/**
 * @typedef {{run_id: number, original_run_id?: number | null, rerun_of?: number | null,
 *   state?: string, start_time?: string | null, [key: string]: any}} Run
 * @typedef {{run: Run, depth: 0 | 1, children: number, orphan: boolean}} Row
 */

/**
 * @param {Run[]} runs  one page, newest first
 * @param {Set<number>} [collapsed]  ids of originals whose reruns are folded away
 * @returns {Row[]}
 */
export function groupRuns(runs, collapsed = new Set()) {
  const onPage = new Set(runs.map((r) => r.run_id));
  /** @type {Map<number, Run[]>} */
  const children = new Map();
  for (const run of runs) {
    const root = run.original_run_id;
    if (root !== null && root !== undefined && root !== run.run_id && onPage.has(root)) {
      const list = children.get(root) ?? [];
      list.push(run);
      children.set(root, list);
    }
  }
  /** @type {Row[]} */
  const rows = [];
  for (const run of runs) {
    const root = run.original_run_id;
    const isChild = root !== null && root !== undefined && root !== run.run_id && onPage.has(root);
    if (isChild) continue;
    const kids = children.get(run.run_id) ?? [];
    const orphan = root !== null && root !== undefined && root !== run.run_id;
    rows.push({ run, depth: 0, children: kids.length, orphan });
    if (!collapsed.has(run.run_id)) {
      for (const kid of kids) rows.push({ run: kid, depth: 1, children: 0, orphan: false });
    }
  }
  return rows;
}

/**
 * @param {number} page  0-based
 * @param {number} pageSize
 * @param {number} total
 */
export function pageInfo(page, pageSize, total) {
  const pages = Math.max(1, Math.ceil(total / Math.max(1, pageSize)));
  const current = Math.min(Math.max(0, page), pages - 1);
  const from = total === 0 ? 0 : current * pageSize + 1;
  const to = Math.min(total, (current + 1) * pageSize);
  return { page: current, pages, from, to, hasPrev: current > 0, hasNext: current < pages - 1 };
}

/**
 * Validate the rerun popup's version field: "" -> null (the latest version), a positive
 * integer -> that number, anything else -> an error message.
 * @param {string} text
 * @returns {{ok: true, version: number | null} | {ok: false, error: string}}
 */
export function parseVersion(text) {
  const t = text.trim();
  if (t === "") return { ok: true, version: null };
  if (!/^\d+$/.test(t) || Number(t) < 1) {
    return { ok: false, error: `"${t}" is not a version: type a whole number ≥ 1, or leave it empty for the latest.` };
  }
  return { ok: true, version: Number(t) };
}

/**
 * Counts of tasks by state, for the run header ("3 completed · 1 running").
 * @param {{state: string}[]} tasks
 * @returns {[string, number][]}
 */
export function stateCounts(tasks) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const t of tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * The shade (0..4) of a heatmap cell with `count` runs when the busiest cell has `max`.
 * @param {number} count
 * @param {number} max
 */
export function heatLevel(count, max) {
  if (!count || max <= 0) return 0;
  return Math.min(4, Math.max(1, Math.ceil((count / max) * 4)));
}

/**
 * Rows of the tasks x runs grid in the chosen order: as the version lists them, by name, or
 * slowest first (mean duration over the runs shown).
 * @param {{name: string, cells: Record<string, {duration: number | null}>}[]} tasks
 * @param {"order" | "name" | "duration"} sort
 */
export function sortGridTasks(tasks, sort) {
  if (sort === "name") return [...tasks].sort((a, b) => a.name.localeCompare(b.name));
  if (sort === "duration") {
    const mean = (/** @type {any} */ t) => {
      const ds = Object.values(t.cells)
        .map((c) => c.duration)
        .filter((d) => typeof d === "number");
      return ds.length ? ds.reduce((x, y) => x + y, 0) / ds.length : -1;
    };
    return [...tasks]
      .map((t) => ({ t, m: mean(t) }))
      .sort((a, b) => b.m - a.m)
      .map((x) => x.t);
  }
  return tasks;
}

/**
 * The task states of a run to filter/select by, with counts, and the reused/executed split.
 * @param {{state: string, result_from_run_id?: number | null}[]} tasks
 */
export function reuseCounts(tasks) {
  let reused = 0;
  for (const t of tasks) if (t.result_from_run_id != null) reused++;
  return { reused, executed: tasks.length - reused };
}
