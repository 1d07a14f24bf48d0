// @ts-check
/**
 * What the explorer does to the notebook around it: insert a cell. JupyterLab has no public
 * API for this from a widget; the widget manager's notebook context is used when present and
 * the caller falls back to showing a copyable line (JUPYTER-RECIPE.md section 4).
 */

/**
 * Insert a code cell below the cell that shows `el` (JUPYTER-RECIPE.md section 4, strategy D).
 * Uses the notebook model that JupyterLab's widget manager exposes; returns where it went, or
 * "no-notebook-context" where the front end (VS Code, Colab, a console) offers no such thing.
 * @param {any} model
 * @param {HTMLElement} el
 * @param {string} code
 */
export function insertCellBelow(model, el, code) {
  const shared = model?.widget_manager?.context?.model?.sharedModel;
  if (!shared || typeof shared.insertCell !== "function") return "no-notebook-context";
  const cellEl = el.closest(".jp-Cell");
  let idx = -1;
  if (cellEl && cellEl.parentElement) {
    const cells = [...cellEl.parentElement.children].filter((c) => c.classList.contains("jp-Cell"));
    const i = cells.indexOf(cellEl);
    if (i >= 0 && cells.length === shared.cells.length) idx = i + 1;
  }
  if (idx < 0) {
    // Windowed notebooks do not keep every cell in the DOM: find the cell whose outputs
    // show this widget's model instead.
    const modelId = model?.model_id ?? model?.comm?.comm_id;
    shared.cells.forEach((/** @type {any} */ cell, /** @type {number} */ i) => {
      if (idx >= 0 || !modelId || cell.cell_type !== "code") return;
      const outputs = typeof cell.getOutputs === "function" ? cell.getOutputs() : [];
      if (JSON.stringify(outputs).includes(modelId)) idx = i + 1;
    });
  }
  if (idx < 0) idx = shared.cells.length;
  shared.insertCell(idx, { cell_type: "code", source: code });
  return `inserted@${idx}`;
}
