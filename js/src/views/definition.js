// @ts-check
/**
 * A version's definition, as Workflow.definition() gives it: its source, tasks (inputs,
 * resources), options (environment variables, requirements, resources, limits), schedule,
 * any other field the version carries, and the diff of its source against the version before.
 */
import { h, replace } from "../dom.js";
import { formatTime } from "../format.js";

/** @typedef {import("../app.js").Ctx} Ctx */

/** @param {any} v */
const show = (v) =>
  v === null || v === undefined || v === "" ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);

/** @param {Ctx} ctx */
export function createDefinition(ctx) {
  const el = h("div", { class: "dt-definition" });
  /** @type {any} */
  let last = null;
  /** @param {any} d */
  function update(d) {
    if (d === last) return;
    last = d;
    if (!d || d.job_version == null) {
      replace(el, h("div", { class: "dt-empty", text: "Loading the definition…" }));
      return;
    }
    const versions = d.versions ?? [];
    const select = /** @type {HTMLSelectElement} */ (
      h(
        "select",
        {
          class: "dt-def-version",
          "aria-label": "Version",
          onchange: () => ctx.request("definition", { version: Number(select.value) }),
        },
        versions.map((/** @type {number} */ v) => h("option", { value: v, text: `version ${v}` })),
      )
    );
    select.value = String(d.job_version);
    const opts = d.options ?? {};
    const envVars = opts.env_vars ?? {};
    const known = new Set([
      "name",
      "slug",
      "environment",
      "job_version",
      "created_at",
      "schedule",
      "schedule_description",
      "tasks",
      "options",
      "source",
      "diff",
      "versions",
      "version_info",
    ]);
    const extra = Object.entries(d).filter(([k, v]) => !known.has(k) && v !== null && v !== undefined);
    const info = d.version_info ?? {};
    const infoExtra = Object.entries(info).filter(
      ([k, v]) => !["job_version", "created_at", "task_count", "schedule"].includes(k) && v != null,
    );
    const names = new Map((d.tasks ?? []).map((/** @type {any} */ t) => [t.id, t.name]));
    replace(
      el,
      h(
        "div",
        { class: "dt-def-bar" },
        select,
        h("span", { class: "dt-kv" }, "saved ", h("b", { text: `${formatTime(d.created_at)} UTC` })),
        h(
          "span",
          { class: "dt-kv" },
          "schedule ",
          h("b", { text: d.schedule ? `${d.schedule_description ?? ""} (${d.schedule})` : "manual" }),
        ),
      ),
      h(
        "div",
        { class: "dt-def-cols" },
        h(
          "div",
          { class: "dt-def-section" },
          h("div", { class: "dt-h", text: "Environment and options" }),
          h(
            "table",
            { class: "dt-table dt-def-table" },
            h(
              "tbody",
              {},
              Object.entries(opts)
                .filter(([k]) => k !== "env_vars")
                .map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { class: "dt-mono", text: show(v) }))),
              Object.keys(envVars).length
                ? Object.entries(envVars).map(([k, v]) =>
                    h("tr", {}, h("th", { text: `env ${k}` }), h("td", { class: "dt-mono", text: show(v) })),
                  )
                : h("tr", {}, h("th", { text: "env vars" }), h("td", { text: "—" })),
              [...extra, ...infoExtra].map(([k, v]) =>
                h("tr", {}, h("th", { text: k }), h("td", { class: "dt-mono", text: show(v) })),
              ),
            ),
          ),
        ),
        h(
          "div",
          { class: "dt-def-section" },
          h("div", { class: "dt-h", text: `Tasks (${(d.tasks ?? []).length})` }),
          h(
            "div",
            { class: "dt-def-tasks-scroll" },
            h(
              "table",
              { class: "dt-table dt-def-tasks" },
              h(
                "thead",
                {},
                h("tr", {}, h("th", { text: "Task" }), h("th", { text: "Inputs" }), h("th", { text: "Resources" })),
              ),
              h(
                "tbody",
                {},
                (d.tasks ?? []).slice(0, 500).map((/** @type {any} */ t) =>
                  h(
                    "tr",
                    {},
                    h("td", { class: "dt-mono", text: t.name }),
                    h("td", {
                      class: "dt-mono",
                      text:
                        (t.dependencies ?? []).map((/** @type {number} */ i) => names.get(i) ?? i).join(", ") || "—",
                    }),
                    h("td", { class: "dt-mono", text: show(t.resources) }),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
      h("div", { class: "dt-h", text: "Source" }),
      h("pre", { class: "dt-log dt-source", text: d.source || "(no source stored)" }),
      h("div", { class: "dt-h", text: d.job_version > 1 ? `Changes from version ${d.job_version - 1}` : "Changes" }),
      d.diff == null
        ? h("div", { class: "dt-note", text: "The first version: nothing to compare with." })
        : d.diff === ""
          ? h("div", {
              class: "dt-note",
              text: "The source is the same as the version before (tasks or options changed).",
            })
          : h(
              "pre",
              { class: "dt-log dt-diff" },
              d.diff.split("\n").map((/** @type {string} */ line) =>
                h("span", {
                  class:
                    line.startsWith("+") && !line.startsWith("+++")
                      ? "dt-diff-add"
                      : line.startsWith("-") && !line.startsWith("---")
                        ? "dt-diff-del"
                        : line.startsWith("@@")
                          ? "dt-diff-hunk"
                          : "",
                  text: `${line}\n`,
                }),
              ),
            ),
    );
  }
  return { el, update };
}
