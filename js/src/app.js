// @ts-check
/**
 * The explorer view: binds the kernel-owned model (synced traits) to the panels and turns
 * clicks into protocol requests. One instance per displayed view of the widget.
 */
import { h, replace } from "./dom.js";
import { elapsed, formatDuration, formatTime, stateClass, stateLabel } from "./format.js";
import { insertCellBelow } from "./notebook.js";
import { createClient } from "./protocol.js";
import { stateCounts } from "./runs.js";
import { createDagView } from "./views/dag.js";
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
];

/**
 * @typedef {{
 *   request: (type: string, payload?: Record<string, any>) => Promise<any>,
 *   selectTask: (taskId: number) => void,
 *   openRerun: (run: any) => void,
 *   flash: (runId: number) => void,
 *   flashRunId: number | null,
 *   workflowName: () => string,
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
        client.request("inserted", { variable: msg.variable, where, ok: where.startsWith("inserted@") });
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
  const runHead = h("div", { class: "dt-run-head" });
  const runPanel = h("div", { class: "dt-panel dt-run-panel" }, runHead, dag.el);
  const workflowView = h("div", { class: "dt-workflow" }, runsPanel.el, runPanel, taskPanel.el);
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
    if (st.run === lastRunHead.run) return;
    lastRunHead = st;
    const run = st.run;
    if (!run || run.run_id == null) {
      replace(runHead, h("span", { class: "dt-muted", text: st.run_count ? "Select a run to see its graph." : "" }));
      dag.el.style.display = "none";
      return;
    }
    dag.el.style.display = "";
    const now = Date.now();
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
      run.rerun_of != null
        ? h("span", { class: "dt-tag", text: `rerun of #${run.rerun_of}${run.full ? " (full)" : ""}` })
        : null,
      h(
        "span",
        { class: "dt-chips" },
        stateCounts(run.tasks ?? []).map(([state, n]) =>
          h("span", { class: `dt-badge ${stateClass(state)}`, text: `${n} ${stateLabel(state)}` }),
        ),
      ),
      h("span", { class: "dt-spacer" }),
      h("button", { class: "dt-small dt-rerun-btn dt-run-rerun", text: "↻ Rerun", onclick: () => ctx.openRerun(run) }),
    );
  }

  function render() {
    const st = snapshot();
    toolbar.update(st);
    errorBanner.style.display = st.error ? "" : "none";
    errorText.textContent = st.error ?? "";
    if (st.workflow) {
      if (body.firstChild !== workflowView) replace(body, workflowView);
      runsPanel.update(st);
      renderRunHead(st);
      dag.update(st.run, st.task_id);
      taskPanel.update(st);
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
