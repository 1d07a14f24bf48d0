// @ts-check
/**
 * The explorer view: binds the kernel-owned model (synced traits) to the panels and turns
 * clicks into protocol requests. One instance per displayed view of the widget.
 */
import { h, replace } from "./dom.js";
import { elapsed, formatDuration, formatTime, stateClass, stateLabel } from "./format.js";
import { insertCellBelow } from "./notebook.js";
import { createClient } from "./protocol.js";
import { reuseCounts, stateCounts } from "./runs.js";
import { createDagView } from "./views/dag.js";
import { createDefinition } from "./views/definition.js";
import { createGrid } from "./views/grid.js";
import { createTimeline } from "./views/timeline.js";
import { badge, createOverview } from "./views/overview.js";
import { createRerunDialog } from "./views/rerun.js";
import { createRunsPanel } from "./views/runs.js";
import { createTaskPanel } from "./views/task.js";
import { createToolbar } from "./views/toolbar.js";
import css from "./styles.css";

/** Synced traits the view reads (datatailr/jupyter_ext/_widget.py). */
export const TRAITS = [
  "environments",
  "environment",
  "workflows",
  "jobs",
  "workflow",
  "start_time",
  "end_time",
  "page",
  "page_size",
  "run_count",
  "runs",
  "run_id",
  "run",
  "task_id",
  "task",
  "versions",
  "status",
  "error",
  "live",
  "loaded",
  "state_filter",
  "trigger_filter",
  "version_filter",
  "view",
  "grid",
  "definition",
];

/** The views of a run, in tab order. */
export const VIEWS = [
  ["graph", "Graph"],
  ["timeline", "Timeline"],
  ["grid", "Tasks × runs"],
  ["definition", "Definition"],
];

/**
 * @typedef {{
 *   request: (type: string, payload?: Record<string, any>) => Promise<any>,
 *   selectTask: (taskId: number) => void,
 *   openRerun: (run: any) => void,
 *   flash: (runId: number) => void,
 *   flashRunId: number | null,
 *   workflowName: () => string,
 *   revealTask: () => void,
 * }} Ctx
 */

/**
 * @param {{model: any, el: HTMLElement}} props
 * @returns {() => void} cleanup
 */
export function renderExplorer({ model, el }) {
  const root = h("div", { class: "dt-explorer" });
  /** @type {number | null} */
  let flashRunId = null;
  let pendingCount = 0;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let waitTimer = null;
  const waiting = h("span", { class: "dt-waiting" });

  const client = createClient(model, {
    onPending(n) {
      pendingCount = n;
      if (waitTimer) clearTimeout(waitTimer);
      waitTimer = null;
      if (n === 0) waiting.textContent = "";
      // Comm messages wait while the kernel runs a cell: say so after a moment.
      else waitTimer = setTimeout(() => (waiting.textContent = pendingCount ? "waiting for the kernel…" : ""), 400);
    },
    onMessage(msg) {
      if (msg.type === "insert_cell" && typeof msg.code === "string") {
        let where;
        try {
          where = insertCellBelow(model, root, msg.code);
        } catch (err) {
          where = `error: ${err}`;
        }
        client.request("inserted", { variable: msg.variable, where, ok: /^(inserted|exists)@/.test(where) });
      }
    },
  });

  /** @type {Ctx} */
  const ctx = {
    request: (type, payload) => client.request(type, payload),
    selectTask: (taskId) => {
      const st = snapshot();
      if (st.run_id != null)
        client.request("select_task", { run_id: st.run_id, task_id: taskId, result: taskPanel.wantsResult() });
    },
    openRerun: (run) => rerun.open(run, model.get("versions") ?? []),
    flash: (runId) => {
      flashRunId = runId;
      schedule();
      setTimeout(() => {
        if (flashRunId === runId) flashRunId = null;
      }, 2500);
    },
    get flashRunId() {
      return flashRunId;
    },
    revealTask: () => {
      // The panel may sit below the fold (stacked layout): bring it into view.
      if (taskPanel.el.style.display === "none") return;
      const r = taskPanel.el.getBoundingClientRect();
      const vh = window.innerHeight || document.documentElement.clientHeight;
      if (r.top < 0 || r.top > vh - 80) taskPanel.el.scrollIntoView({ block: "start", behavior: "auto" });
    },
    workflowName: () => {
      const slug = model.get("workflow");
      const wf = (model.get("workflows") ?? []).find((/** @type {any} */ w) => w.slug === slug);
      return wf ? wf.name : slug;
    },
  };

  const toolbar = createToolbar(ctx);
  const errorText = h("span", { class: "dt-error-text" });
  const errorBanner = h(
    "div",
    { class: "dt-error-banner", role: "alert", style: { display: "none" } },
    errorText,
    h("button", {
      class: "dt-link dt-dismiss",
      title: "Dismiss",
      text: "✕",
      onclick: () => client.request("dismiss_error"),
    }),
  );
  const overview = createOverview(ctx);
  const runsPanel = createRunsPanel(ctx);
  const dag = createDagView(ctx);
  const taskPanel = createTaskPanel(ctx);
  const rerun = createRerunDialog(ctx);
  const timeline = createTimeline(ctx);
  const grid = createGrid(ctx);
  const definition = createDefinition(ctx);
  const runHead = h("div", { class: "dt-run-head" });
  const failLine = h("div", { class: "dt-fail-line", style: { display: "none" } });
  const viewTabs = h(
    "div",
    { class: "dt-view-tabs", role: "tablist", "aria-label": "Run views" },
    VIEWS.map(([key, label]) =>
      h("button", {
        class: "dt-tab dt-view-tab",
        role: "tab",
        dataset: { view: key },
        text: label,
        onclick: () => client.request("set_view", { view: key }),
      }),
    ),
  );
  const viewBox = h("div", { class: "dt-view-box" }, dag.el, timeline.el, grid.el, definition.el);
  const runPanel = h("div", { class: "dt-panel dt-run-panel" }, runHead, failLine, viewTabs, viewBox);
  const workflowView = h("div", { class: "dt-workflow" }, runsPanel.el, runPanel, taskPanel.el);
  /** @type {string | null} */
  let onlyState = null;
  /** @type {any} */
  let onlyRun = null;
  const body = h("div", { class: "dt-body" });
  const statusText = h("span", { class: "dt-status-text" });
  const live = h("span", { class: "dt-live", title: "Running runs refresh on their own while this explorer is open" });
  const statusbar = h("div", { class: "dt-statusbar" }, statusText, waiting, live);
  root.append(h("style", { text: css }), toolbar.el, errorBanner, body, statusbar, rerun.el);
  el.appendChild(root);

  function snapshot() {
    /** @type {Record<string, any>} */
    const st = {};
    for (const k of TRAITS) st[k] = model.get(k);
    return st;
  }

  /** @type {Record<string, any>} */
  let lastRunHead = {};
  /** @param {Record<string, any>} st */
  function renderRunHead(st) {
    if (st.run === lastRunHead.run && onlyState === lastRunHead.__only) return;
    lastRunHead = { ...st, __only: onlyState };
    const run = st.run;
    if (!run || run.run_id == null) {
      replace(runHead, h("span", { class: "dt-muted", text: st.run_count ? "Select a run to see its graph." : "" }));
      failLine.style.display = "none";
      viewTabs.style.display = viewBox.style.display = "none";
      return;
    }
    viewTabs.style.display = viewBox.style.display = "";
    const now = Date.now();
    const tasks = run.tasks ?? [];
    const { reused, executed } = reuseCounts(tasks);
    const runLink = (/** @type {number} */ id, /** @type {string} */ cls) =>
      h("button", {
        class: `dt-link ${cls}`,
        dataset: { runId: id },
        text: `#${id}`,
        onclick: () => client.request("select_run", { run_id: id }),
      });
    const active = ["pending", "scheduled", "running"].includes(run.state);
    replace(
      runHead,
      h("span", { class: "dt-run-title", text: `Run #${run.run_id}` }),
      badge(run.state),
      h("span", { class: "dt-kv" }, "version ", h("b", { text: run.job_version ?? "—" })),
      h("span", { class: "dt-kv" }, "started ", h("b", { text: formatTime(run.start_time) })),
      h(
        "span",
        { class: "dt-kv dt-run-duration", dataset: { live: run.state === "running" ? "1" : "" } },
        "took ",
        h("b", { text: formatDuration(elapsed(run, now)) }),
      ),
      run.trigger ? h("span", { class: "dt-kv" }, "trigger ", h("b", { text: run.trigger })) : null,
      run.rerun_of != null
        ? h(
            "span",
            { class: "dt-tag dt-rerun-of" },
            `${run.full ? "full " : ""}rerun of `,
            runLink(run.rerun_of, "dt-rerun-of-link"),
          )
        : null,
      (run.superseded_by ?? []).length
        ? h(
            "span",
            { class: "dt-tag dt-superseded" },
            "superseded by ",
            (run.superseded_by ?? []).map((/** @type {number} */ id, /** @type {number} */ i) => [
              i ? ", " : "",
              runLink(id, "dt-superseded-link"),
            ]),
          )
        : null,
      h(
        "span",
        { class: "dt-chips", role: "group", "aria-label": "Tasks by state: click to pick them out" },
        stateCounts(tasks).map(([state, n]) =>
          h("button", {
            class: `dt-badge dt-chip ${stateClass(state)}${onlyState === state ? " dt-on" : ""}`,
            dataset: { state },
            "aria-pressed": String(onlyState === state),
            title:
              onlyState === state ? "Show all tasks" : `Pick out the ${stateLabel(state)} tasks and open the first`,
            text: `${n} ${stateLabel(state)}`,
            onclick: () => pickState(state),
          }),
        ),
        reused
          ? h("span", {
              class: "dt-tag dt-reuse-counts",
              title: "Reused: a completed result taken from an earlier run, not run again",
              text: `${reused} reused · ${executed} executed`,
            })
          : null,
      ),
      h("span", { class: "dt-spacer" }),
      active
        ? h("button", {
            class: "dt-small dt-stop-btn",
            text: "■ Stop",
            title: `Stop run #${run.run_id}`,
            onclick: () => client.request("stop", { run_id: run.run_id }),
          })
        : null,
      h("button", { class: "dt-small dt-rerun-btn dt-run-rerun", text: "↻ Rerun", onclick: () => ctx.openRerun(run) }),
    );
    const f = run.failure;
    if (f && ["failed", "failed_after"].includes(run.state)) {
      failLine.style.display = "";
      replace(
        failLine,
        f.task_name
          ? [
              "failed at ",
              h("button", {
                class: "dt-link dt-fail-task",
                text: f.task_name,
                onclick: () => ctx.selectTask(f.task_id),
              }),
              f.count > 1 ? h("span", { class: "dt-faint", text: ` (+${f.count - 1} more)` }) : null,
              ": ",
            ]
          : "failed: ",
        h("span", { class: "dt-fail-error", text: f.error || "no error recorded" }),
      );
    } else failLine.style.display = "none";
  }

  /** A state chip: pick out the tasks in that state (dim the rest) and open the first. */
  function pickState(/** @type {string} */ state) {
    const run = model.get("run");
    onlyState = onlyState === state ? null : state;
    onlyRun = run;
    if (onlyState) {
      const first = (run?.tasks ?? [])
        .filter((/** @type {any} */ t) => t.state === state)
        .sort(
          (/** @type {any} */ a, /** @type {any} */ b) =>
            String(a.start_time ?? "~").localeCompare(String(b.start_time ?? "~")) || a.id - b.id,
        )[0];
      if (first && first.id !== model.get("task_id")) ctx.selectTask(first.id);
    }
    schedule();
  }

  /** A saved notebook's static copy sits beside the widget: the live view hides it. */
  function hideSnapshot() {
    const child = root.closest(".jp-OutputArea-child, .output_area");
    const area = child?.parentElement;
    if (!area) return;
    for (const sib of area.children) {
      if (sib !== child && sib.querySelector?.("[data-dt-snapshot], .dt-snapshot")) {
        /** @type {HTMLElement} */ (sib).style.display = "none";
        root.dataset.snapshotHidden = "1";
      }
    }
  }

  function render() {
    const st = snapshot();
    toolbar.update(st);
    errorBanner.style.display = st.error ? "" : "none";
    errorText.textContent = st.error ?? "";
    if (st.workflow) {
      if (body.firstChild !== workflowView) replace(body, workflowView);
      if (onlyRun && st.run && st.run.run_id !== onlyRun.run_id) onlyState = null;
      onlyRun = st.run;
      runsPanel.update(st);
      renderRunHead(st);
      const view = VIEWS.some(([k]) => k === st.view) ? st.view : "graph";
      for (const b of viewTabs.querySelectorAll("button")) {
        const on = /** @type {HTMLElement} */ (b).dataset.view === view;
        b.classList.toggle("dt-on", on);
        b.setAttribute("aria-selected", String(on));
      }
      dag.el.style.display = view === "graph" ? "" : "none";
      timeline.el.style.display = view === "timeline" ? "" : "none";
      grid.el.style.display = view === "grid" ? "" : "none";
      definition.el.style.display = view === "definition" ? "" : "none";
      if (view === "graph") dag.update(st.run, st.task_id, onlyState);
      else if (view === "timeline") timeline.update(st.run, st.task_id, onlyState);
      else if (view === "grid") grid.update(st.grid, onlyState, st.run_id);
      else definition.update(st.definition);
      taskPanel.update(st);
      const hasTask = Boolean(st.task && st.task.task_id != null);
      workflowView.classList.toggle("dt-has-task", hasTask);
    } else {
      if (body.firstChild !== overview.el) replace(body, overview.el);
      overview.update(st);
    }
    statusText.textContent = st.status ?? "";
    statusText.title = st.status ?? "";
    live.classList.toggle("dt-on", Boolean(st.live));
    live.textContent = st.live ? "live" : "idle";
    root.dataset.workflow = st.workflow ?? "";
    root.dataset.runId = st.run_id == null ? "" : String(st.run_id);
    root.dataset.taskId = st.task_id == null ? "" : String(st.task_id);
  }

  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      render();
    });
  }
  const listeners = TRAITS.map((k) => {
    const event = `change:${k}`;
    model.on(event, schedule);
    return event;
  });
  render();
  queueMicrotask(hideSnapshot);
  setTimeout(hideSnapshot, 500);
  const ticker = setInterval(() => {
    runsPanel.tick();
    const d = runHead.querySelector(".dt-run-duration[data-live='1'] b");
    const run = model.get("run");
    if (d && run) d.textContent = formatDuration(elapsed(run, Date.now()));
  }, 1000);
  client.request("hello");

  return () => {
    clearInterval(ticker);
    if (waitTimer) clearTimeout(waitTimer);
    for (const event of listeners) model.off(event, schedule);
    rerun.close();
    try {
      model.send({ type: "bye", req: 0 });
    } catch {
      // the comm may already be closed
    }
    client.dispose();
    root.remove();
  };
}
