import assert from "node:assert/strict";
import { test } from "node:test";
import { groupRuns, heatLevel, pageInfo, parseVersion, stateCounts } from "../src/runs.js";

const run = (run_id, original_run_id = null, rerun_of = original_run_id) => ({ run_id, original_run_id, rerun_of });
const shape = (rows) => rows.map((r) => [r.run.run_id, r.depth, r.children, r.orphan]);

test("reruns sit under their original run, which keeps its place", () => {
  // newest first: 15 re-ran 12 (chain root 10), 14 re-ran 10, 13 plain, 12 re-ran 10, 11, 10
  const runs = [run(15, 10, 12), run(14, 10), run(13), run(12, 10), run(11), run(10)];
  assert.deepEqual(shape(groupRuns(runs)), [
    [13, 0, 0, false],
    [11, 0, 0, false],
    [10, 0, 3, false],
    [15, 1, 0, false],
    [14, 1, 0, false],
    [12, 1, 0, false],
  ]);
});

test("a rerun whose original is on another page stands alone and says so", () => {
  assert.deepEqual(shape(groupRuns([run(21, 3), run(20)])), [
    [21, 0, 0, true],
    [20, 0, 0, false],
  ]);
});

test("collapsed groups hide their reruns but keep the count", () => {
  const runs = [run(3, 1), run(2), run(1)];
  assert.deepEqual(shape(groupRuns(runs, new Set([1]))), [
    [2, 0, 0, false],
    [1, 0, 1, false],
  ]);
});

test("pageInfo clamps and counts", () => {
  assert.deepEqual(pageInfo(0, 20, 0), { page: 0, pages: 1, from: 0, to: 0, hasPrev: false, hasNext: false });
  assert.deepEqual(pageInfo(0, 20, 100000), { page: 0, pages: 5000, from: 1, to: 20, hasPrev: false, hasNext: true });
  assert.deepEqual(pageInfo(4999, 20, 100000), {
    page: 4999,
    pages: 5000,
    from: 99981,
    to: 100000,
    hasPrev: true,
    hasNext: false,
  });
  assert.deepEqual(pageInfo(9, 20, 45), { page: 2, pages: 3, from: 41, to: 45, hasPrev: true, hasNext: false });
});

test("the rerun popup's version: empty, a whole number, or an error", () => {
  assert.deepEqual(parseVersion(""), { ok: true, version: null });
  assert.deepEqual(parseVersion(" 3 "), { ok: true, version: 3 });
  assert.deepEqual(parseVersion("0"), {
    ok: false,
    error: '"0" is not a version: type a whole number ≥ 1, or leave it empty for the latest.',
  });
  assert.deepEqual(parseVersion("1.5"), {
    ok: false,
    error: '"1.5" is not a version: type a whole number ≥ 1, or leave it empty for the latest.',
  });
  assert.deepEqual(parseVersion("-2"), {
    ok: false,
    error: '"-2" is not a version: type a whole number ≥ 1, or leave it empty for the latest.',
  });
});

test("stateCounts sorts by count then name; heatLevel shades 0..4", () => {
  const tasks = ["completed", "running", "completed", "failed", "completed", "running"].map((state) => ({ state }));
  assert.deepEqual(stateCounts(tasks), [
    ["completed", 3],
    ["running", 2],
    ["failed", 1],
  ]);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 8].map((n) => heatLevel(n, 8)),
    [0, 1, 1, 2, 2, 4],
  );
  assert.equal(heatLevel(5, 0), 0);
});
