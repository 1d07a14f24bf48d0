// The explorer shows task output and results as text. Guard it at the source: no module may
// parse HTML strings (innerHTML & co.), build code from strings, or load markup.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".js") ? [path] : [];
  });
}

const src = new URL("../src/", import.meta.url).pathname;
const FORBIDDEN = [
  /\binnerHTML\b/,
  /\bouterHTML\b/,
  /\binsertAdjacentHTML\b/,
  /\bcreateContextualFragment\b/,
  /document\.write/,
  /\bDOMParser\b/,
  /\beval\(/,
  /new Function\(/,
  /srcdoc/,
];

test("no source module parses HTML or evaluates strings", () => {
  const hits = [];
  for (const path of files(src)) {
    const text = readFileSync(path, "utf8");
    for (const re of FORBIDDEN) if (re.test(text)) hits.push(`${path.slice(src.length)}: ${re}`);
  }
  assert.deepEqual(hits, []);
});

test("images are only ever data:image/png URLs", () => {
  const text = readFileSync(join(src, "views/task.js"), "utf8");
  assert.deepEqual(text.match(/src: `[^`]*`/g), ["src: `data:image/png;base64,${preview.data}`"]);
});
