// @ts-check
/**
 * One task of the selected run: its stdout and stderr (tailing while it runs), its return
 * value (a DataFrame as a table with its shape, anything else as text) and "Load into a
 * cell". Everything from the task is shown as text: `textContent`, never parsed as HTML.
 */
import { h, replace } from "../dom.js";
import { elapsed, formatCount, formatDuration, formatTime } from "../format.js";
import { badge } from "./overview.js";

/** @typedef {import("../app.js").Ctx} Ctx */

/**
 * The result preview the kernel sent (datatailr/jupyter_ext/_payload.py: preview_value).
 * @param {any} preview
 */
export function renderResult(preview) {
  if (!preview) return h("div", { class: "dt-note", text: "Loading the result…" });
  const head = h("div", { class: "dt-result-head" }, h("span", { class: "dt-result-type", text: preview.type ?? "" }));
  if (preview.summary) head.appendChild(h("span", { class: "dt-muted dt-result-summary", text: preview.summary }));
  if (preview.kind === "none") {
    return h(
      "div",
      { class: "dt-result" },
      h("div", {
        class: "dt-note",
        text: "No result stored. The task returned None, is still running, raised an exception, or its result has expired.",
      }),
    );
  }
  if (preview.kind === "error") {
    return h("div", { class: "dt-result" }, head, h("pre", { class: "dt-log dt-stderr", text: preview.text ?? "" }));
  }
  if (preview.kind === "table") {
    const cols = preview.columns ?? [];
    const dtypes = preview.dtypes ?? [];
    const table = h(
      "table",
      { class: "dt-df" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { text: preview.index_name ?? "" }),
          cols.map((/** @type {string} */ c, /** @type {number} */ i) =>
            h("th", {}, c, dtypes[i] ? h("span", { class: "dt-dtype", text: dtypes[i] }) : null),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        (preview.rows ?? []).map((/** @type {string[]} */ row, /** @type {number} */ i) =>
          h(
            "tr",
            {},
            h("th", { text: preview.index?.[i] ?? String(i) }),
            row.map((cell) => h("td", { text: cell })),
          ),
        ),
      ),
    );
    const notes = [];
    if (preview.truncated_rows)
      notes.push(`first ${formatCount(preview.rows.length)} of ${formatCount(preview.shape[0])} rows`);
    if (preview.truncated_columns)
      notes.push(`first ${formatCount(cols.length)} of ${formatCount(preview.shape[1])} columns`);
    return h(
      "div",
      { class: "dt-result" },
      head,
      h("div", { class: "dt-df-scroll" }, table),
      notes.length ? h("div", { class: "dt-note", text: `Showing the ${notes.join(" and the ")}.` }) : null,
    );
  }
  if (preview.kind === "image" && preview.mime === "image/png" && typeof preview.data === "string") {
    // A base64 PNG in a data: URL of an <img>: an image, not markup, so nothing can run.
    return h(
      "div",
      { class: "dt-result" },
      head,
      h("img", {
        class: "dt-result-img",
        alt: preview.text ?? "result image",
        src: `data:image/png;base64,${preview.data}`,
      }),
    );
  }
  return h(
    "div",
    { class: "dt-result" },
    head,
    h("pre", { class: "dt-log dt-result-text", text: preview.text ?? "" }),
    preview.truncated
      ? h("div", {
          class: "dt-note",
          text: `Truncated: showing ${formatCount((preview.text ?? "").length)} of ${formatCount(preview.length)} characters. Load it into a cell for all of it.`,
        })
      : null,
  );
}

/** @param {Ctx} ctx */
export function createTaskPanel(ctx) {
  /** @type {"stdout" | "stderr" | "result"} */
  let tab = "stdout";
  const head = h("div", { class: "dt-task-head" });
  const tabs = h("div", { class: "dt-tabs", role: "tablist" });
  const body = h("div", { class: "dt-task-body" });
  const loadedBox = h("div");
  const el = h("div", { class: "dt-panel dt-task-panel" }, head, tabs, body);
  /** @type {Record<string, any>} */
  let last = {};
  let lastTaskKey = "";
  let askedFor = "";

  /** Ask the kernel for the result preview of the shown task, once. */
  function wantResult() {
    const task = last.task;
    if (!task || task.task_id == null || task.result != null) return;
    const key = `${task.run_id}/${task.task_id}`;
    if (askedFor === key) return;
    askedFor = key;
    ctx.request("task_result");
  }

  /** @param {"stdout" | "stderr" | "result"} t */
  function setTab(t) {
    tab = t;
    if (t === "result") wantResult();
    render(last, true);
  }

  /**
   * @param {Record<string, any>} st
   * @param {boolean} force
   */
  function render(st, force) {
    const task = st.task;
    if (!task || task.task_id == null) {
      el.style.display = st.run && st.run.tasks ? "" : "none";
      replace(head, h("span", { class: "dt-muted", text: "Click a task in the graph to see its logs and result." }));
      replace(tabs);
      replace(body);
      tabs.style.display = body.style.display = "none";
      return;
    }
    el.style.display = "";
    tabs.style.display = body.style.display = "";
    const taskKey = `${task.run_id}/${task.task_id}`;
    const newTask = taskKey !== lastTaskKey;
    lastTaskKey = taskKey;
    if (tab === "result") wantResult();

    const now = Date.now();
    replace(
      head,
      h("span", { class: "dt-task-name", text: task.task_name }),
      badge(task.state),
      h("span", { class: "dt-kv" }, "run ", h("b", { text: `#${task.run_id}` })),
      h("span", { class: "dt-kv" }, "started ", h("b", { text: formatTime(task.start_time) })),
      h("span", { class: "dt-kv" }, "took ", h("b", { text: formatDuration(elapsed(task, now)) })),
      task.attempts > 1 ? h("span", { class: "dt-kv" }, "attempts ", h("b", { text: task.attempts })) : null,
      task.result_from_run_id != null
        ? h("span", { class: "dt-tag", text: `result reused from run #${task.result_from_run_id}` })
        : null,
    );
    const tabButton = (
      /** @type {"stdout" | "stderr" | "result"} */ t,
      /** @type {string} */ label,
      /** @type {string} */ n,
    ) =>
      h(
        "button",
        {
          class: `dt-tab${tab === t ? " dt-on" : ""}`,
          role: "tab",
          "aria-selected": String(tab === t),
          dataset: { tab: t },
          onclick: () => setTab(t),
        },
        label,
        n ? h("span", { class: "dt-tab-n", text: n }) : null,
      );
    const lines = (/** @type {string} */ s) => (s ? String(s.split("\n").length - (s.endsWith("\n") ? 1 : 0)) : "0");
    replace(
      tabs,
      tabButton("stdout", "stdout", lines(task.stdout)),
      tabButton("stderr", "stderr", lines(task.stderr)),
      tabButton("result", "Result", ""),
      h(
        "span",
        { class: "dt-tab-actions" },
        h("button", {
          class: "dt-small dt-load-btn",
          title: "Put the return value in a kernel variable and insert the line that loads it in a new cell below",
          text: "⤓ Load into a cell",
          onclick: () => ctx.request("load_result", { run_id: task.run_id, task_id: task.task_id }),
        }),
      ),
    );

    const content = [];
    if (task.error && tab !== "result") content.push(h("div", { class: "dt-task-error", text: task.error }));
    if (tab === "result") {
      content.push(renderResult(task.result));
    } else {
      const text = tab === "stdout" ? task.stdout : task.stderr;
      const truncated = tab === "stdout" ? task.stdout_truncated : task.stderr_truncated;
      if (truncated)
        content.push(
          h("div", {
            class: "dt-note",
            text: `Showing the last ${formatCount(task.log_lines)} lines. The whole log: Workflow(...).logs(run_id=${task.run_id}, task_id=${task.task_id}${tab === "stderr" ? ", stderr=True" : ""}, lines=None)`,
          }),
        );
      const prev = /** @type {HTMLElement | null} */ (body.querySelector("pre.dt-log"));
      const atBottom = !prev || prev.scrollTop + prev.clientHeight >= prev.scrollHeight - 4;
      const pre = text
        ? h("pre", { class: `dt-log dt-${tab}`, text })
        : h("pre", {
            class: `dt-log dt-log-empty dt-${tab}`,
            text: `(no ${tab} output${task.state === "running" ? " yet" : ""})`,
          });
      content.push(pre);
      queueMicrotask(() => {
        if (newTask || force || atBottom) pre.scrollTop = pre.scrollHeight;
      });
    }
    content.push(loadedBox);
    renderLoaded(st);
    replace(body, content);
  }

  /** @param {Record<string, any>} st */
  function renderLoaded(st) {
    const L = st.loaded;
    const task = st.task;
    if (!L || !L.variable || !task || L.run_id !== task.run_id || L.task_id !== task.task_id) {
      replace(loadedBox);
      return;
    }
    const where =
      L.inserted === true
        ? "A cell with the line that loads it was inserted below the explorer."
        : L.inserted === false
          ? "This front end cannot insert cells: copy the line below."
          : "";
    replace(
      loadedBox,
      h(
        "div",
        { class: "dt-loaded" },
        h("span", {}, "Loaded into ", h("code", { class: "dt-var", text: L.variable }), ". ", where),
        h("code", { class: "dt-code", text: L.code }),
        h("button", {
          class: "dt-small dt-copy",
          text: "Copy",
          onclick: (/** @type {Event} */ e) => {
            const button = /** @type {HTMLButtonElement} */ (e.currentTarget);
            const done = () => (button.textContent = "Copied");
            navigator.clipboard?.writeText(L.code).then(done, () => selectText(loadedBox.querySelector(".dt-code")));
          },
        }),
      ),
    );
  }

  /** @param {Record<string, any>} st */
  function update(st) {
    if (st.task === last.task && st.loaded === last.loaded && st.run === last.run) return;
    const onlyLoaded = st.task === last.task && st.run === last.run;
    last = st;
    if (onlyLoaded) renderLoaded(st);
    else render(st, false);
  }
  return { el, update, wantsResult: () => tab === "result" };
}

/** @param {Element | null} node */
function selectText(node) {
  if (!node) return;
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = window.getSelection();
  sel?.removeAllRanges();
  sel?.addRange(range);
}
