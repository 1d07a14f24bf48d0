// @ts-check
/**
 * What the explorer does to the notebook around it: insert a cell. JupyterLab has no public
 * API for this from a widget; the widget manager's notebook context is used when present and
 * the caller falls back to showing a copyable line the user pastes into a cell.
 */

/** @param {any} cell */
const sourceOf = (cell) => {
  const src = cell?.source ?? (typeof cell?.getSource === "function" ? cell.getSource() : "");
  return Array.isArray(src) ? src.join("") : String(src ?? "");
};

/** A cell this explorer inserts: the "Load into a cell" line and nothing else. */
export const LOADER =
  /^from datatailr import Workflow\n\n\w+ = Workflow\(.*\)\.result\(run_id=\d+, task_name=.*\)\n\w+$/s;

/**
 * Where "Load into a cell" puts `code` among `sources` (the notebook's cells) when the
 * explorer is in cell `at`: after the loader cells already below it (oldest first), or
 * nowhere if the same line is already there.
 * @param {string[]} sources
 * @param {number} at
 * @param {string} code
 * @returns {{index: number, exists: boolean}}
 */
export function insertionPoint(sources, at, code) {
  let i = at + 1;
  while (i < sources.length && LOADER.test(sources[i])) {
    if (sources[i] === code) return { index: i, exists: true };
    i++;
  }
  return { index: i, exists: false };
}

/**
 * Insert a code cell below the cell that shows `el`, through the notebook model (no public API).
 * Uses the notebook model that JupyterLab's widget manager exposes; returns where it went
 * ("inserted@N", or "exists@N" when that line is already below), or "no-notebook-context"
 * where the front end (VS Code, Colab, a console) offers no such thing.
 * @param {any} model
 * @param {HTMLElement} el
 * @param {string} code
 */
export function insertCellBelow(model, el, code) {
  const shared = model?.widget_manager?.context?.model?.sharedModel;
  if (!shared || typeof shared.insertCell !== "function") return "no-notebook-context";
  const cellEl = el.closest(".jp-Cell");
  let idx = -1;
  /** @type {Element[]} */
  let domCells = [];
  if (cellEl && cellEl.parentElement) {
    domCells = [...cellEl.parentElement.children].filter((c) => c.classList.contains("jp-Cell"));
    const i = domCells.indexOf(cellEl);
    if (i >= 0 && domCells.length === shared.cells.length) idx = i;
  }
  if (idx < 0) {
    // Windowed notebooks do not keep every cell in the DOM: find the cell whose outputs
    // show this widget's model instead.
    const modelId = model?.model_id ?? model?.comm?.comm_id;
    shared.cells.forEach((/** @type {any} */ cell, /** @type {number} */ i) => {
      if (idx >= 0 || !modelId || cell.cell_type !== "code") return;
      const outputs = typeof cell.getOutputs === "function" ? cell.getOutputs() : [];
      if (JSON.stringify(outputs).includes(modelId)) idx = i;
    });
  }
  const sources = [...shared.cells].map(sourceOf);
  const at = idx < 0 ? sources.length - 1 : idx;
  const { index, exists } = insertionPoint(sources, at, code);
  if (!exists) shared.insertCell(index, { cell_type: "code", source: code });
  // Bring the cell into view (it may be far below a tall explorer).
  setTimeout(() => {
    const parent = cellEl?.parentElement;
    const cells = parent ? [...parent.children].filter((c) => c.classList.contains("jp-Cell")) : [];
    const target = /** @type {any} */ (cells[index]);
    if (typeof target?.scrollIntoView === "function") target.scrollIntoView({ block: "nearest" });
  }, 50);
  return `${exists ? "exists" : "inserted"}@${index}`;
}
