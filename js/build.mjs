// Bundle src/ into the one ESM file the widget loads (datatailr/jupyter_ext/static/explorer.js).
// Deterministic: no timestamps, no source maps, fixed target and inputs (package-lock.json);
// CI rebuilds it with `npm ci && npm run build` and checks the committed file did not change.
import * as esbuild from "esbuild";
import { readFileSync } from "node:fs";

const watch = process.argv.includes("--watch");

/** CSS imports become their minified text (the view puts it in a <style> element). */
const cssText = {
  name: "css-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await esbuild.transform(readFileSync(args.path, "utf8"), {
        loader: "css",
        minify: !watch,
        target: ["chrome111", "firefox113", "safari16.2"],
      });
      return { contents: code, loader: "text" };
    });
  },
};

// dagre's MIT notice travels with the bundle (its ESM build keeps it in a separate file).
const dagreLicense = readFileSync(
  new URL("./node_modules/@dagrejs/dagre/dist/dagre.esm.js.LEGAL.txt", import.meta.url),
  "utf8",
).trim();

const options = {
  entryPoints: ["src/index.js"],
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !watch,
  legalComments: "none",
  charset: "utf8",
  plugins: [cssText],
  outfile: "../datatailr/jupyter_ext/static/explorer.js",
  banner: { js: "// datatailr %dt_runs explorer - built from js/ by `npm run build`; do not edit." },
  footer: { js: `// Bundled: @dagrejs/dagre (graph layout), MIT:\n${dagreLicense}` },
  logLevel: "info",
};
// The `dt ui` page script: the websocket model; it loads explorer.js itself at runtime.
const uiOptions = {
  entryPoints: ["src/ui.js"],
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !watch,
  legalComments: "none",
  charset: "utf8",
  external: ["./explorer.js"],
  outfile: "../datatailr/jupyter_ext/static/ui.js",
  banner: { js: "// datatailr `dt ui` page - built from js/ by `npm run build`; do not edit." },
  logLevel: "info",
};
if (watch) {
  for (const o of [options, uiOptions]) await (await esbuild.context(o)).watch();
} else {
  await esbuild.build(options);
  await esbuild.build(uiOptions);
}
