// @ts-check
/**
 * The environment's dashboard (no workflow selected): every workflow with its task count,
 * state, schedule, the strip of its last 10 runs and a weekly activity heatmap; beside them
 * the services, apps and Excel add-ins with their state and the address they listen on.
 */
import { h, replace } from "../dom.js";
import { formatDuration, formatTime, jobKind, safeUrl, stateClass, stateLabel } from "../format.js";
import { heatLevel } from "../runs.js";

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** @typedef {import("../app.js").Ctx} Ctx */

/** @param {string | null | undefined} state */
export function badge(state) {
  return h("span", { class: `dt-badge ${stateClass(state)}`, text: stateLabel(state) });
}

/**
 * The strip of the last 10 runs, oldest left, newest right; empty slots keep its width.
 * @param {any} wf
 * @param {Ctx} ctx
 */
function strip(wf, ctx) {
  const runs = [...(wf.recent_runs ?? [])].slice(0, 10).reverse();
  const cells = [];
  for (let i = runs.length; i < 10; i++) cells.push(h("span", { class: "dt-strip-cell dt-strip-empty" }));
  for (const run of runs) {
    cells.push(
      h("button", {
        class: `dt-strip-cell ${stateClass(run.state)}`,
        title: `Run #${run.run_id} · ${stateLabel(run.state)} · ${formatTime(run.start_time)} UTC · ${formatDuration(run.duration)}`,
        "aria-label": `Run ${run.run_id} ${stateLabel(run.state)}`,
        dataset: { runId: run.run_id },
        onclick: (/** @type {Event} */ e) => {
          e.stopPropagation();
          ctx.request("select_workflow", { workflow: wf.slug, run_id: run.run_id });
        },
      }),
    );
  }
  return h("span", { class: "dt-strip" }, cells);
}

/**
 * 7 rows (6 days ago .. today, UTC) x 24 hours; a cell with a failed run among the recent
 * ones is drawn in the failure colour.
 * @param {number[][]} activity
 * @param {number} nowMs
 * @param {any[]} [recent]  recent runs {state, start_time}
 */
export function heatmap(activity, nowMs, recent = []) {
  const rows = activity && activity.length === 7 ? activity : Array.from({ length: 7 }, () => new Array(24).fill(0));
  let max = 0;
  for (const row of rows) for (const c of row) max = Math.max(max, c);
  const today = new Date(nowMs).getUTCDay();
  const failed = failedCells(recent, nowMs);
  const dayLabels = [];
  const cells = [];
  let total = 0;
  for (let d = 0; d < 7; d++) {
    const name = DAY_NAMES[(today - 6 + d + 7) % 7];
    dayLabels.push(h("span", { text: name }));
    for (let hr = 0; hr < 24; hr++) {
      const n = rows[d]?.[hr] ?? 0;
      total += n;
      const bad = failed.has(`${d}:${hr}`);
      cells.push(
        h("span", {
          class: `dt-heat-cell dt-heat-${heatLevel(n, max)}${bad ? " dt-heat-failed" : ""}`,
          title: `${d === 6 ? "Today" : name} ${String(hr).padStart(2, "0")}:00 UTC · ${n} run${n === 1 ? "" : "s"}${bad ? " · a run failed" : ""}`,
        }),
      );
    }
  }
  const hours = [0, 6, 12, 18].map((hr) =>
    h("span", { style: { "grid-column": `${hr + 1} / span 6` }, text: String(hr).padStart(2, "0") }),
  );
  return h(
    "span",
    { class: "dt-heat-wrap", title: `${total} runs in the last 7 days` },
    h("span", { class: "dt-heat-corner" }),
    h("span", { class: "dt-heat-hours" }, hours),
    h("span", { class: "dt-heat-days" }, dayLabels),
    h("span", { class: "dt-heat" }, cells),
  );
}

/**
 * "day:hour" keys (day 0 = 6 days ago, UTC) of the heatmap cells holding a failed run.
 * @param {any[]} recent
 * @param {number} nowMs
 */
export function failedCells(recent, nowMs) {
  const day0 = Math.floor(nowMs / 86400000) * 86400000 - 6 * 86400000;
  const out = new Set();
  for (const r of recent ?? []) {
    if (!["failed", "failed_after"].includes(r.state) || !r.start_time) continue;
    const t = Date.parse(r.start_time);
    const d = Math.floor((t - day0) / 86400000);
    if (d >= 0 && d < 7) out.add(`${d}:${new Date(t).getUTCHours()}`);
  }
  return out;
}

/**
 * The services, apps and Excel add-ins: name, kind and version, state, and URL. The URL is a
 * link whose text is the address itself (only http and https addresses are links).
 * @param {any[]} jobs
 * @param {string} environment
 */
export function jobsSection(jobs, environment) {
  const rows = jobs.map((/** @type {any} */ job) => {
    const url = safeUrl(job.url);
    const running = job.running_version != null && job.running_version !== job.job_version;
    return h(
      "tr",
      { dataset: { job: job.slug } },
      h(
        "td",
        {},
        h("div", { class: "dt-wf-name", text: job.name }),
        h("div", {
          class: "dt-wf-slug dt-job-kind",
          title: job.slug,
          text: `${jobKind(job.kind, job.framework)} · v${job.job_version ?? "?"}`,
        }),
      ),
      h(
        "td",
        {},
        job.state ? badge(job.state) : h("span", { class: "dt-faint", text: "never started" }),
        running ? h("div", { class: "dt-faint", text: `runs v${job.running_version}` }) : null,
      ),
      h(
        "td",
        { class: "dt-job-url" },
        url
          ? h("a", { class: "dt-mono", href: url, target: "_blank", rel: "noopener noreferrer", text: url })
          : h("span", { class: "dt-faint", text: job.state === "running" ? "starting…" : "—" }),
      ),
    );
  });
  return h(
    "div",
    { class: "dt-overview-section dt-jobs" },
    h(
      "div",
      { class: "dt-h" },
      "Services and apps",
      h("span", { class: "dt-count", text: `${jobs.length} in ${environment}` }),
    ),
    h(
      "div",
      { class: "dt-hscroll" },
      h(
        "table",
        { class: "dt-table dt-jobs-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Name and kind", "State", "URL"].map((t) => h("th", { text: t })),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
}

/** @param {Ctx} ctx */
export function createOverview(ctx) {
  const el = h("div", { class: "dt-overview" });
  /** @type {Record<string, any>} */
  let last = {};
  /** @param {Record<string, any>} st */
  function update(st) {
    if (st.workflows === last.workflows && st.jobs === last.jobs && st.environment === last.environment) return;
    last = st;
    const wfs = st.workflows ?? [];
    const jobs = st.jobs ?? [];
    const jobsEl = jobs.length ? jobsSection(jobs, st.environment) : null;
    if (!wfs.length) {
      replace(
        el,
        h(
          "div",
          { class: "dt-empty" },
          h("div", { text: `No workflows in ${st.environment} yet.` }),
          h("div", {
            class: "dt-faint",
            text: "Run one with my_workflow(local_run=True) or deploy it with my_workflow(), then press Refresh.",
          }),
        ),
        jobsEl,
      );
      return;
    }
    const now = Date.now();
    const rows = wfs.map((/** @type {any} */ wf) =>
      h(
        "tr",
        {
          class: "dt-clickable",
          tabindex: 0,
          dataset: { workflow: wf.slug },
          onclick: () => ctx.request("select_workflow", { workflow: wf.slug }),
          onkeydown: (/** @type {KeyboardEvent} */ e) => {
            if (e.key === "Enter") ctx.request("select_workflow", { workflow: wf.slug });
          },
        },
        h(
          "td",
          {},
          h("div", { class: "dt-wf-name", text: wf.name }),
          h("div", { class: "dt-wf-slug", text: `${wf.slug} · v${wf.job_version ?? "?"}` }),
        ),
        h("td", { class: "dt-num", text: wf.task_count ?? "—" }),
        h("td", {}, badge(wf.state)),
        h(
          "td",
          {},
          wf.schedule
            ? [
                h("div", { text: wf.schedule_description || wf.schedule }),
                h("div", { class: "dt-schedule-cron dt-mono", text: wf.schedule }),
                wf.next_run
                  ? h("div", { class: "dt-schedule-next dt-faint", text: `next ${formatTime(wf.next_run)} UTC` })
                  : null,
              ]
            : h("span", { class: "dt-faint", text: "manual" }),
        ),
        h("td", {}, strip(wf, ctx)),
        h("td", {}, heatmap(wf.activity, now, wf.recent_runs)),
      ),
    );
    replace(
      el,
      h(
        "div",
        { class: "dt-overview-section dt-workflows" },
        h(
          "div",
          { class: "dt-h" },
          "Workflows",
          h("span", { class: "dt-count", text: `${wfs.length} in ${st.environment}` }),
        ),
        h(
          "div",
          { class: "dt-hscroll" },
          h(
            "table",
            { class: "dt-table dt-overview-table" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Workflow", "Tasks", "State", "Schedule", "Last 10 runs", "Activity (7 days, UTC)"].map((t) =>
                  h("th", { text: t }),
                ),
              ),
            ),
            h("tbody", {}, rows),
          ),
        ),
      ),
      jobsEl,
    );
  }
  return { el, update };
}
