import assert from "node:assert/strict";
import { test } from "node:test";
import { insertCellBelow } from "../src/notebook.js";
import { activePreset } from "../src/views/toolbar.js";

/** A notebook model as JupyterLab's widget manager exposes it (context.model.sharedModel). */
function notebook(cells) {
  const shared = {
    cells: cells.map((c) => ({ cell_type: "code", getOutputs: () => c.outputs ?? [] })),
    inserted: [],
    insertCell(idx, cell) {
      this.inserted.push([idx, cell]);
      this.cells.splice(idx, 0, { cell_type: cell.cell_type, getOutputs: () => [] });
    },
  };
  return shared;
}

test("insertCellBelow: no notebook context, no insertion", () => {
  const el = { closest: () => null };
  assert.equal(insertCellBelow({}, el, "x"), "no-notebook-context");
  assert.equal(insertCellBelow({ widget_manager: { context: {} } }, el, "x"), "no-notebook-context");
});

test("insertCellBelow: below the cell in the DOM that shows the widget", () => {
  const shared = notebook([{}, {}, {}]);
  const cellEls = [0, 1, 2].map(() => ({ classList: { contains: (c) => c === "jp-Cell" } }));
  const parent = { children: cellEls };
  for (const c of cellEls) c.parentElement = parent;
  const el = { closest: () => cellEls[1] };
  assert.equal(
    insertCellBelow({ widget_manager: { context: { model: { sharedModel: shared } } } }, el, "y = 1"),
    "inserted@2",
  );
  assert.deepEqual(shared.inserted, [[2, { cell_type: "code", source: "y = 1" }]]);
});

test("insertCellBelow: a windowed notebook is searched by the widget's model id", () => {
  const shared = notebook([
    {},
    { outputs: [{ data: { "application/vnd.jupyter.widget-view+json": { model_id: "abc123" } } }] },
    {},
  ]);
  const el = { closest: () => null };
  const model = { model_id: "abc123", widget_manager: { context: { model: { sharedModel: shared } } } };
  assert.equal(insertCellBelow(model, el, "z"), "inserted@2");
});

test("activePreset recognises the range a preset set", () => {
  const now = Date.parse("2026-11-27T13:04:05Z");
  assert.equal(activePreset("", "", now), "all");
  assert.equal(activePreset("2026-11-27T12:04:00Z", "", now), "1h");
  assert.equal(activePreset("2026-11-20T13:04:00Z", "", now), "7d");
  assert.equal(activePreset("2026-11-20T13:04:00Z", "2026-11-21T00:00:00Z", now), null);
});
