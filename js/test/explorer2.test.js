import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAnsi, stripAnsi, xterm256 } from "../src/ansi.js";
import { parseRangeText, toRangeText, formatMemory } from "../src/format.js";
import { layoutDag, nearestInDirection, timelineLayout, offsetLabel, visibleRows } from "../src/layout.js";
import { insertionPoint, LOADER } from "../src/notebook.js";
import { parseVersion, reuseCounts, sortGridTasks } from "../src/runs.js";
import { failedCells } from "../src/views/overview.js";

const plain = { fg: null, bg: null, bold: false, italic: false, underline: false, dim: false };

test("ANSI colour codes become styled segments, other escapes are dropped", () => {
  assert.deepEqual(parseAnsi("no codes"), [{ text: "no codes", ...plain }]);
  assert.deepEqual(parseAnsi("a \x1b[31mred\x1b[0m \x1b[1;92mbold green\x1b[22m x\x1b[39m."), [
    { text: "a ", ...plain },
    { text: "red", ...plain, fg: "ansi-red" },
    { text: " ", ...plain },
    { text: "bold green", ...plain, fg: "ansi-bright-green", bold: true },
    { text: " x", ...plain, fg: "ansi-bright-green" },
    { text: ".", ...plain },
  ]);
  assert.deepEqual(parseAnsi("\x1b[38;5;196mX\x1b[48;2;1;2;3mY\x1b[2K\x1b]0;title\x07"), [
    { text: "X", ...plain, fg: "rgb(255,0,0)" },
    { text: "Y", ...plain, fg: "rgb(255,0,0)", bg: "rgb(1,2,3)" },
  ]);
  assert.equal(xterm256(244), "rgb(128,128,128)");
  assert.equal(xterm256(9), "ansi-bright-red");
  assert.equal(stripAnsi("\x1b[31m<b>x</b>\x1b[0m"), "<b>x</b>");
});

test("range inputs are ISO UTC, 24-hour, with a message that shows the format", () => {
  assert.deepEqual(parseRangeText(""), { ok: true, iso: null });
  assert.deepEqual(parseRangeText("2026-11-27 13:05"), { ok: true, iso: "2026-11-27T13:05:00Z" });
  assert.deepEqual(parseRangeText("2026-11-27T23:59:30"), { ok: true, iso: "2026-11-27T23:59:30Z" });
  assert.deepEqual(parseRangeText("2026-11-27"), { ok: true, iso: "2026-11-27T00:00:00Z" });
  for (const bad of ["2026-02-30 10:00", "2026-11-27 24:00", "11/27/2026 1:05 PM", "soon"])
    assert.deepEqual(parseRangeText(bad), {
      ok: false,
      error: `"${bad}" is not a UTC date and time: write YYYY-MM-DD HH:MM (24-hour), e.g. 2026-11-27 13:05.`,
    });
  assert.equal(toRangeText("2026-11-27T13:05:09.5Z"), "2026-11-27 13:05");
  assert.deepEqual(
    [formatMemory(512), formatMemory(52428800), formatMemory(3 * 1024 ** 3), formatMemory(null)],
    ["512 B", "50.0 MB", "3.0 GB", "—"],
  );
});

test("arrow keys move to the nearest task in that direction", () => {
  const layout = layoutDag([
    { id: 0, name: "a" },
    { id: 1, name: "b", dependencies: [0] },
    { id: 2, name: "c", dependencies: [0] },
    { id: 3, name: "d", dependencies: [1, 2] },
  ]);
  const right = nearestInDirection(layout.nodes, 0, "right");
  assert.ok(right === 1 || right === 2);
  assert.equal(nearestInDirection(layout.nodes, right, "right"), 3);
  assert.equal(nearestInDirection(layout.nodes, 3, "right"), null);
  const [upper, lower] = [1, 2].sort((a, b) => layout.nodes[a].y - layout.nodes[b].y);
  assert.equal(nearestInDirection(layout.nodes, upper, "down"), lower);
  assert.equal(nearestInDirection(layout.nodes, lower, "up"), upper);
  assert.equal(nearestInDirection(layout.nodes, 99, "up"), 0);
});

test("the timeline puts tasks in start order on the run's time axis", () => {
  const tl = timelineLayout(
    [
      { id: 2, name: "never", state: "did_not_run" },
      { id: 1, name: "late", state: "running", start_time: "2026-01-01T00:00:01Z" },
      {
        id: 0,
        name: "first",
        state: "completed",
        start_time: "2026-01-01T00:00:00Z",
        end_time: "2026-01-01T00:00:02Z",
        result_from_run_id: 4,
      },
    ],
    Date.parse("2026-01-01T00:00:04Z"),
  );
  assert.deepEqual(
    tl.rows.map((r) => [r.id, r.left, r.width, r.duration, r.reused]),
    [
      [0, 0, 0.5, 2, true],
      [1, 0.25, 0.75, 3, false],
      [2, 0, 0, null, false],
    ],
  );
  assert.deepEqual(
    tl.ticks.map((t) => t.label),
    ["0", "+1 s", "+2 s", "+3 s", "+4 s"],
  );
  assert.deepEqual([offsetLabel(0.25), offsetLabel(90), offsetLabel(5400)], ["+250 ms", "+1m 30s", "+1h 30m"]);
});

test("Load into a cell: after the loader cells already below, never twice", () => {
  const line = (v, t) =>
    `from datatailr import Workflow\n\n${v} = Workflow(name='W', environment='dev', get_existing=True).result(run_id=1, task_name='${t}')\n${v}`;
  const a = line("a_1", "a");
  const b = line("b_1", "b");
  assert.ok(LOADER.test(a));
  assert.ok(!LOADER.test("x = 1"));
  assert.deepEqual(insertionPoint(["%dt_runs", "x = 1"], 0, a), { index: 1, exists: false });
  assert.deepEqual(insertionPoint(["%dt_runs", a, "x = 1"], 0, b), { index: 2, exists: false });
  assert.deepEqual(insertionPoint(["%dt_runs", a, b], 0, a), { index: 1, exists: true });
});

test("grid sorting, reuse counts, the version field and the heatmap's failed cells", () => {
  const tasks = [
    { name: "b", cells: { 1: { duration: 1 }, 2: { duration: 3 } } },
    { name: "a", cells: { 1: { duration: 5 } } },
    { name: "c", cells: { 1: { duration: null } } },
  ];
  assert.deepEqual(
    sortGridTasks(tasks, "name").map((t) => t.name),
    ["a", "b", "c"],
  );
  assert.deepEqual(
    sortGridTasks(tasks, "duration").map((t) => t.name),
    ["a", "b", "c"],
  );
  assert.deepEqual(
    sortGridTasks(tasks, "order").map((t) => t.name),
    ["b", "a", "c"],
  );
  assert.deepEqual(reuseCounts([{ result_from_run_id: 3 }, { result_from_run_id: null }, {}]), {
    reused: 1,
    executed: 2,
  });
  assert.deepEqual(parseVersion("v2"), {
    ok: false,
    error: '"v2" is not a version: type a whole number ≥ 1, or leave it empty for the latest.',
  });
  const now = Date.parse("2026-11-27T13:00:00Z");
  assert.deepEqual(
    [
      ...failedCells(
        [
          { state: "failed", start_time: "2026-11-27T09:30:00Z" },
          { state: "completed", start_time: "2026-11-27T10:30:00Z" },
          { state: "failed", start_time: "2026-11-21T00:10:00Z" },
          { state: "failed", start_time: "2026-11-20T23:10:00Z" },
        ],
        now,
      ),
    ],
    ["6:9", "0:0"],
  );
});

test("only the timeline rows in view, and a screenful either side, get elements", () => {
  assert.deepEqual(
    [
      visibleRows(0, 400, 20, 1000),
      visibleRows(2000, 400, 20, 1000),
      visibleRows(19_990, 400, 20, 1000),
      visibleRows(0, 0, 20, 1000),
      visibleRows(0, 400, 20, 5),
      visibleRows(-50, 400, 20, 1000, 0),
      visibleRows(500, 400, 20, 0),
    ],
    [
      { first: 0, last: 40 },
      { first: 80, last: 140 },
      { first: 979, last: 1000 },
      { first: 0, last: 40 },
      { first: 0, last: 5 },
      { first: 0, last: 20 },
      { first: 0, last: 0 },
    ],
  );
});

test("a retried task's attempt picker: all, each attempt, the latest marked; one attempt: none", async () => {
  const { attemptChoices } = await import("../src/views/task.js");
  const { buttons, note } = attemptChoices(3, 3);
  assert.deepEqual(
    buttons.map((b) => [b.value, b.label, b.on]),
    [
      ["all", "all", false],
      [1, "1", false],
      [2, "2", false],
      [3, "3 · latest", true],
    ],
  );
  assert.equal(note, "Showing attempt 3 of 3, the latest.");
  assert.equal(attemptChoices(3, 1).note, "Showing attempt 1 of 3.");
  assert.deepEqual(
    attemptChoices(2, null).buttons.map((b) => b.on),
    [true, false, false],
  );
  assert.equal(attemptChoices(2, null).note, "Showing all 2 attempts, oldest first.");
  assert.deepEqual(attemptChoices(1, null), { buttons: [], note: "" });
  assert.deepEqual(attemptChoices(0, null), { buttons: [], note: "" });
});
