import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DAGRE_MAX_NODES,
  MAX_NODE_WIDTH,
  MIN_NODE_WIDTH,
  centerOn,
  edgePath,
  edgesOf,
  findTasks,
  fitTransform,
  layoutDag,
  nodeLabel,
  nodeWidth,
  placeInOrder,
  structureKey,
  zoomAt,
} from "../src/layout.js";

/** The complex pipeline example: my_number -> first_addition; num_0..4 -> reduce_list -> add_one/two/three. */
const complexPipeline = [
  { id: 0, name: "my_number", dependencies: [] },
  { id: 1, name: "first_addition", dependencies: [0] },
  ...[0, 1, 2, 3, 4].map((i) => ({ id: 2 + i, name: `num_${i}`, dependencies: [] })),
  { id: 7, name: "reduce_list", dependencies: [2, 3, 4, 5, 6] },
  { id: 8, name: "add_one", dependencies: [7] },
  { id: 9, name: "add_two", dependencies: [7] },
  { id: 10, name: "add_three", dependencies: [7] },
];

/** A wide generated workflow: `layers` layers of `width` tasks, each using 2 of the layer before. */
function wide(layers, width) {
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const tasks = [];
  for (let l = 0; l < layers; l++) {
    for (let j = 0; j < width; j++) {
      const deps = l ? [0, 1].map(() => (l - 1) * width + Math.floor(rnd() * width)) : [];
      tasks.push({ id: l * width + j, name: `layer_${l}_task_${j}`, dependencies: deps });
    }
  }
  return tasks;
}

function overlaps(nodes) {
  const bad = [];
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i];
      const b = nodes[j];
      if (Math.abs(a.x - b.x) * 2 < a.width + b.width - 0.5 && Math.abs(a.y - b.y) * 2 < a.height + b.height - 0.5)
        bad.push([a.id, b.id]);
    }
  }
  return bad;
}

for (const engine of ["dagre", "layered"]) {
  test(`${engine}: every task placed once, no overlaps, every edge runs left to right`, () => {
    const L = layoutDag(complexPipeline, { engine });
    assert.equal(L.engine, engine);
    assert.deepEqual(
      L.nodes.map((n) => n.id).sort((a, b) => a - b),
      complexPipeline.map((t) => t.id),
    );
    assert.deepEqual(overlaps(L.nodes), []);
    const byId = new Map(L.nodes.map((n) => [n.id, n]));
    assert.deepEqual(
      L.edges.map((e) => [e.from, e.to]),
      [
        [0, 1],
        [2, 7],
        [3, 7],
        [4, 7],
        [5, 7],
        [6, 7],
        [7, 8],
        [7, 9],
        [7, 10],
      ],
    );
    for (const e of L.edges) assert.ok(byId.get(e.from).x < byId.get(e.to).x, `${e.from}->${e.to}`);
    for (const n of L.nodes) {
      assert.ok(n.x - n.width / 2 >= 0 && n.x + n.width / 2 <= L.width + 0.5, `node ${n.id} inside width`);
      assert.ok(n.y - n.height / 2 >= 0 && n.y + n.height / 2 <= L.height + 0.5, `node ${n.id} inside height`);
    }
  });
}

test("auto picks dagre for small graphs and the linear layout past the threshold", () => {
  assert.equal(layoutDag(complexPipeline).engine, "dagre");
  const big = wide(10, 100);
  assert.ok(big.length > DAGRE_MAX_NODES);
  const L = layoutDag(big);
  assert.equal(L.engine, "layered");
  assert.equal(L.nodes.length, 1000);
  assert.deepEqual(overlaps(L.nodes.slice(0, 300)), []);
  const byId = new Map(L.nodes.map((n) => [n.id, n]));
  assert.ok(L.edges.every((e) => byId.get(e.from).x < byId.get(e.to).x));
});

test("the linear layout keeps a chain on one line", () => {
  const chain = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `step_${i}`, dependencies: i ? [i - 1] : [] }));
  const L = layoutDag(chain, { engine: "layered" });
  assert.deepEqual(new Set(L.nodes.map((n) => n.y)).size, 1);
});

test("edgesOf drops unknown ids, self loops and duplicates", () => {
  assert.deepEqual(
    edgesOf([
      { id: 0, name: "a", dependencies: [] },
      { id: 1, name: "b", dependencies: [0, 0, 1, 42] },
    ]),
    [[0, 1]],
  );
});

test("placeInOrder stays as close as possible to the wishes while keeping gaps", () => {
  assert.deepEqual(placeInOrder([0, 0, 0], [0, 10, 10]), [-10, 0, 10]);
  assert.deepEqual(placeInOrder([0, 100, 200], [0, 10, 10]), [0, 100, 200]);
  assert.deepEqual(placeInOrder([50, 0], [0, 10]), [20, 30]);
});

test("node width, labels and the structure key", () => {
  assert.equal(nodeWidth("a"), MIN_NODE_WIDTH);
  assert.equal(nodeWidth("x".repeat(200)), MAX_NODE_WIDTH);
  assert.equal(nodeLabel("short", 100), "short");
  assert.equal(nodeLabel("a_really_long_task_name_that_does_not_fit", 120), "a_really_lo…");
  const a = structureKey([{ id: 0, name: "a", state: "running", dependencies: [] }]);
  const b = structureKey([{ id: 0, name: "a", state: "completed", dependencies: [] }]);
  const c = structureKey([{ id: 0, name: "b", state: "completed", dependencies: [] }]);
  assert.equal(a, b);
  assert.notEqual(b, c);
});

test("edge paths: bezier for two points, curves through dagre's bends", () => {
  assert.equal(
    edgePath({
      from: 0,
      to: 1,
      curve: "bezier",
      points: [
        { x: 0, y: 0 },
        { x: 100, y: 50 },
      ],
    }),
    "M0,0 C50,0 50,50 100,50",
  );
  assert.equal(
    edgePath({
      from: 0,
      to: 1,
      curve: "spline",
      points: [
        { x: 0, y: 0 },
        { x: 10, y: 0 },
        { x: 20, y: 10 },
        { x: 30, y: 10 },
      ],
    }),
    "M0,0 Q10,0 15,5 Q20,10 25,10 L30,10",
  );
  assert.equal(edgePath({ from: 0, to: 1, curve: "spline", points: [] }), "");
});

test("fit, zoom around a point, centre on a node", () => {
  assert.deepEqual(fitTransform(200, 100, 400, 300), { k: 1, x: 100, y: 100 });
  assert.deepEqual(fitTransform(800, 300, 400, 300), { k: 0.5, x: 0, y: 75 });
  assert.deepEqual(fitTransform(0, 0, 400, 300), { x: 0, y: 0, k: 1 });
  assert.deepEqual(fitTransform(1e6, 1e6, 100, 100), { k: 0.02, x: -9950, y: -9950 });
  const t = zoomAt({ x: 0, y: 0, k: 1 }, 2, 100, 50);
  assert.deepEqual(t, { k: 2, x: -100, y: -50 });
  assert.deepEqual(zoomAt({ x: 0, y: 0, k: 3 }, 10, 0, 0), { k: 3, x: 0, y: 0 });
  assert.deepEqual(centerOn(50, 20, 400, 300, 1), { k: 1, x: 150, y: 130 });
});

test("findTasks matches names case-insensitively, in order", () => {
  assert.deepEqual(findTasks(complexPipeline, "NUM_"), [2, 3, 4, 5, 6]);
  assert.deepEqual(findTasks(complexPipeline, "add_t"), [9, 10]);
  assert.deepEqual(findTasks(complexPipeline, "  "), []);
});

test("a 1,000-task graph lays out (the bench measures how fast)", () => {
  const L = layoutDag(wide(10, 100));
  assert.equal(L.nodes.length, 1000);
  assert.equal(L.edges.length > 1000, true);
});
