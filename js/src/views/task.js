// @ts-check
/**
 * One task of the selected run: its stdout and stderr (tailing while it runs), its return
 * value (a DataFrame as a table with its shape, anything else as text) and "Load into a
 * cell". A retried task shows one attempt's logs at a time, the latest unless another is
 * picked (the kernel serves the pick: search and download act on it too). Everything from
 * the task is shown as text: `textContent`, never parsed as HTML.
 */
import { h, replace } from "../dom.js";
import { parseAnsi, stripAnsi } from "../ansi.js";
import { elapsed, formatCount, formatDuration, formatMemory, formatTime } from "../format.js";
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

/**
 * A log as text with its ANSI colours: one span per coloured stretch, text only.
 * @param {string} text
 * @param {string} query  lines containing it (case-insensitive) are marked
 */
export function renderLog(text, query = "") {
  const q = query.trim().toLowerCase();
  const frag = document.createDocumentFragment();
  const lines = text.split("\n");
  let hits = 0;
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    if (last && line === "") return;
    const match = q !== "" && stripAnsi(line).toLowerCase().includes(q);
    if (match) hits++;
    const holder = match ? h("mark", { class: "dt-log-hit" }) : frag;
    for (const seg of parseAnsi(line)) {
      if (!seg.fg && !seg.bg && !seg.bold && !seg.italic && !seg.underline && !seg.dim) {
        holder.appendChild(document.createTextNode(seg.text));
        continue;
      }
      const cls = ["dt-ansi"];
      /** @type {Record<string, string>} */
      const style = {};
      if (seg.fg?.startsWith("ansi-")) cls.push(`dt-fg-${seg.fg.slice(5)}`);
      else if (seg.fg) style.color = seg.fg;
      if (seg.bg?.startsWith("ansi-")) cls.push(`dt-bg-${seg.bg.slice(5)}`);
      else if (seg.bg) style["background-color"] = seg.bg;
      if (seg.bold) cls.push("dt-bold");
      if (seg.dim) cls.push("dt-dim");
      if (seg.italic) cls.push("dt-italic");
      if (seg.underline) cls.push("dt-underline");
      holder.appendChild(h("span", { class: cls.join(" "), style, text: seg.text }));
    }
    if (holder !== frag) frag.appendChild(holder);
    if (!last) frag.appendChild(document.createTextNode("\n"));
  });
  return { frag, hits };
}

/**
 * The attempt picker's buttons and what it says is shown.
 * @param {number} made  attempts in the task's logs
 * @param {number | null} shown  the attempt shown, null for all of them
 * @returns {{buttons: {value: number | "all", label: string, title: string, on: boolean}[], note: string}}
 */
export function attemptChoices(made, shown) {
  if (!(made > 1)) return { buttons: [], note: "" };
  /** @type {{value: number | "all", label: string, title: string, on: boolean}[]} */
  const buttons = [
    { value: "all", label: "all", title: `All ${made} attempts in one log, oldest first`, on: shown == null },
  ];
  for (let n = 1; n <= made; n++)
    buttons.push({
      value: n,
      label: n === made ? `${n} · latest` : String(n),
      title: n === made ? `Attempt ${n}, the latest` : `Attempt ${n}: it was retried`,
      on: shown === n,
    });
  const note =
    shown == null
      ? `Showing all ${made} attempts, oldest first.`
      : shown === made
        ? `Showing attempt ${made} of ${made}, the latest.`
        : `Showing attempt ${shown} of ${made}.`;
  return { buttons, note };
}

/** @param {Ctx} ctx */
export function createTaskPanel(ctx) {
  /** @type {"stdout" | "stderr" | "result"} */
  let tab = "stdout";
  let query = "";
  /** @type {{stream: string, query: string, matches: [number, string][], total: number, key: string} | null} */
  let found = null;
  const head = h("div", { class: "dt-task-head" });
  const tabs = h("div", { class: "dt-tabs", role: "tablist" });
  const attemptsBar = h("div", { class: "dt-attempts-bar", role: "group", "aria-label": "Attempt shown" });
  const body = h("div", { class: "dt-task-body" });
  const loadedBox = h("div");
  const el = h(
    "div",
    { class: "dt-panel dt-task-panel", role: "region", "aria-label": "Selected task" },
    head,
    tabs,
    attemptsBar,
    body,
  );
  // Left/Right move between the attempt buttons (each is also in the tab order).
  attemptsBar.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const buttons = /** @type {HTMLElement[]} */ ([...attemptsBar.querySelectorAll("button")]);
    const i = buttons.indexOf(/** @type {HTMLElement} */ (e.target));
    if (i < 0) return;
    e.preventDefault();
    buttons[(i + (e.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length].focus();
  });
  const searchInput = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "search",
      class: "dt-log-search",
      placeholder: "Search the log…",
      "aria-label": "Search the log",
    })
  );
  const hitCount = h("span", { class: "dt-faint dt-log-hits" });
  searchInput.addEventListener("input", () => {
    query = searchInput.value;
    found = null;
    render(last, true);
  });
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") searchWhole();
  });
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

  /** Search the whole log in the kernel (the panel holds only its tail). */
  async function searchWhole() {
    const task = last.task;
    if (!task || tab === "result" || !query.trim()) return;
    const key = `${task.run_id}/${task.task_id}/${tab}/${task.attempt ?? "all"}`;
    const ack = await ctx.request("log_search", { stream: tab, query });
    if (ack.ok) {
      found = { stream: ack.stream, query: ack.query, matches: ack.matches, total: ack.total, key };
      render(last, false);
    }
  }

  async function download() {
    const task = last.task;
    if (!task || tab === "result") return;
    const ack = await ctx.request("log_download", { stream: tab });
    if (!ack.ok || typeof ack.text !== "string") return;
    const url = URL.createObjectURL(new Blob([ack.text], { type: "text/plain;charset=utf-8" }));
    const a = h("a", { href: url, download: ack.filename, style: { display: "none" } });
    el.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    el.dataset.downloaded = `${ack.filename}:${ack.text.length}`;
  }

  /** @param {number | "all"} which  the kernel answers with the task's logs of that attempt */
  function pickAttempt(which) {
    found = null;
    ctx.request("select_attempt", { attempt: which });
  }

  /** @param {"stdout" | "stderr" | "result"} t */
  function setTab(t) {
    tab = t;
    found = null;
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
      el.style.display = "none";
      lastTaskKey = "";
      replace(head);
      replace(tabs);
      replace(attemptsBar);
      replace(body);
      return;
    }
    el.style.display = "";
    const taskKey = `${task.run_id}/${task.task_id}`;
    const newTask = taskKey !== lastTaskKey;
    const sameNameNewRun = newTask && lastTaskKey !== "" && last.__taskName === task.task_name;
    lastTaskKey = taskKey;
    last = { ...st, __taskName: task.task_name };
    // A failed task opens on its stderr, where the traceback is; switching runs keeps the tab.
    if (newTask && !sameNameNewRun) {
      found = null;
      if (tab !== "result" || task.state === "failed") tab = task.state === "failed" ? "stderr" : "stdout";
    }
    if (newTask) found = null;
    if (tab === "result") wantResult();

    const now = Date.now();
    const reusedFrom = task.result_from_run_id;
    replace(
      head,
      h("span", { class: "dt-task-name", text: task.task_name }),
      badge(task.state),
      reusedFrom != null
        ? h("span", {
            class: "dt-tag dt-reused-tag",
            title: "This rerun reused the stored result: the task did not run again",
            text: `reused from run #${reusedFrom}`,
          })
        : h("span", { class: "dt-tag dt-executed-tag", text: "executed in this run" }),
      h("span", { class: "dt-kv" }, "run ", h("b", { text: `#${task.run_id}` })),
      h("span", { class: "dt-kv" }, "started ", h("b", { text: formatTime(task.start_time) })),
      h("span", { class: "dt-kv" }, "took ", h("b", { text: formatDuration(elapsed(task, now)) })),
      task.attempts > 1
        ? h(
            "span",
            { class: "dt-kv dt-attempts", title: "It failed and was retried: pick an attempt's logs below the tabs" },
            "attempts ",
            h("b", { text: task.attempts }),
          )
        : null,
      task.peak_rss != null
        ? h("span", { class: "dt-kv" }, "peak memory ", h("b", { text: formatMemory(task.peak_rss) }))
        : null,
      task.cpu_seconds != null
        ? h("span", { class: "dt-kv" }, "CPU ", h("b", { text: formatDuration(task.cpu_seconds) }))
        : null,
      task.host ? h("span", { class: "dt-kv" }, "host ", h("b", { text: task.host })) : null,
      task.worker ? h("span", { class: "dt-kv" }, "worker ", h("b", { text: task.worker })) : null,
      h("span", { class: "dt-spacer" }),
      h("button", {
        class: "dt-small dt-close-task",
        title: "Close the task panel",
        "aria-label": "Close the task panel",
        text: "✕",
        onclick: () => ctx.request("select_task", { run_id: task.run_id, task_id: null }),
      }),
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
    const count = (/** @type {any} */ n) => (typeof n === "number" ? formatCount(n) : "0");
    const isLog = tab !== "result";
    replace(
      tabs,
      tabButton("stdout", "stdout", count(task.stdout_lines)),
      tabButton("stderr", "stderr", count(task.stderr_lines)),
      tabButton("result", "Result", ""),
      h(
        "span",
        { class: "dt-tab-actions" },
        isLog ? searchInput : null,
        isLog
          ? h("button", {
              class: "dt-small dt-download",
              title: `Download the whole ${tab} log${task.attempt != null ? ` of attempt ${task.attempt}` : ""}`,
              text: "⇩ Download",
              onclick: download,
            })
          : null,
        h("button", {
          class: "dt-small dt-load-btn",
          title: "Put the return value in a kernel variable and insert the line that loads it in a new cell below",
          text: "⤓ Load into a cell",
          onclick: () => ctx.request("load_result", { run_id: task.run_id, task_id: task.task_id }),
        }),
      ),
    );

    renderAttempts(task);

    const content = [];
    if (task.error && tab !== "result") content.push(h("div", { class: "dt-task-error", text: task.error }));
    if (tab === "result") {
      content.push(renderResult(task.result));
    } else {
      const text = tab === "stdout" ? task.stdout : task.stderr;
      const truncated = tab === "stdout" ? task.stdout_truncated : task.stderr_truncated;
      const total = tab === "stdout" ? task.stdout_lines : task.stderr_lines;
      const code = tab === "stdout" ? task.stdout_code : task.stderr_code;
      if (truncated)
        content.push(
          h(
            "div",
            { class: "dt-note dt-log-cut" },
            `Showing the last ${formatCount(task.log_lines)} of ${formatCount(total ?? 0)} lines. The whole log: `,
            h("code", { class: "dt-code", text: code ?? "" }),
          ),
        );
      const prev = /** @type {HTMLElement | null} */ (body.querySelector("pre.dt-log"));
      const atBottom = !prev || prev.scrollTop + prev.clientHeight >= prev.scrollHeight - 4;
      let pre;
      if (text) {
        const { frag, hits } = renderLog(text, query);
        pre = h("pre", { class: `dt-log dt-${tab}` });
        pre.appendChild(frag);
        hitCount.textContent = query.trim()
          ? `${formatCount(hits)} in the last ${formatCount(Math.min(total ?? 0, task.log_lines))} lines${truncated ? " · Enter: search all" : ""}`
          : "";
      } else {
        hitCount.textContent = "";
        pre = h("pre", {
          class: `dt-log dt-log-empty dt-${tab}`,
          text: `(no ${tab} output${task.attempt != null ? ` in attempt ${task.attempt}` : ""}${task.state === "running" ? " yet" : ""})`,
        });
      }
      content.push(h("div", { class: "dt-log-tools" }, hitCount));
      if (found && found.key === `${task.run_id}/${task.task_id}/${tab}/${task.attempt ?? "all"}`) {
        content.push(
          h(
            "div",
            { class: "dt-log-found" },
            h("div", {
              class: "dt-note",
              text: `${formatCount(found.total)} line${found.total === 1 ? "" : "s"} of the whole log contain "${found.query}"${found.total > found.matches.length ? ` (first ${formatCount(found.matches.length)})` : ""}:`,
            }),
            h(
              "pre",
              { class: "dt-log dt-log-matches" },
              found.matches.flatMap(([n, line]) => [
                h("span", { class: "dt-line-no", text: `${String(n).padStart(6)}  ` }),
                `${stripAnsi(line)}\n`,
              ]),
            ),
          ),
        );
      }
      content.push(pre);
      const first = pre.querySelector("mark");
      queueMicrotask(() => {
        if (first && query.trim()) first.scrollIntoView({ block: "nearest" });
        else if (newTask || force || atBottom) pre.scrollTop = pre.scrollHeight;
      });
    }
    content.push(loadedBox);
    renderLoaded(st);
    replace(body, content);
    if (newTask && !sameNameNewRun) queueMicrotask(() => ctx.revealTask());
  }

  /**
   * The attempt picker of a retried task's logs (hidden on the result, which is the task's).
   * @param {Record<string, any>} task
   */
  function renderAttempts(task) {
    const { buttons, note } = attemptChoices(task.log_attempts ?? 0, task.attempt ?? null);
    const root = /** @type {Document | ShadowRoot} */ (el.getRootNode());
    const active = /** @type {HTMLElement | null} */ (root.activeElement ?? null);
    const focused = active && attemptsBar.contains(active) ? active.dataset.attempt : undefined;
    if (!buttons.length || tab === "result") {
      attemptsBar.style.display = "none";
      replace(attemptsBar);
      return;
    }
    attemptsBar.style.display = "";
    const made = buttons.map((b) =>
      h("button", {
        class: `dt-small dt-attempt${b.on ? " dt-on" : ""}`,
        "aria-pressed": String(b.on),
        "aria-label": b.value === "all" ? "All attempts" : `Attempt ${b.label}`,
        title: b.title,
        dataset: { attempt: String(b.value) },
        text: b.label,
        onclick: () => pickAttempt(b.value),
      }),
    );
    replace(
      attemptsBar,
      h("span", { class: "dt-attempts-label", text: "Attempt" }),
      h("span", { class: "dt-seg" }, made),
      h("span", { class: "dt-muted dt-attempt-note", role: "status", text: note }),
    );
    // Keep the keyboard where it was across the re-render the pick causes.
    if (focused !== undefined) made.find((b) => b.dataset.attempt === focused)?.focus();
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
    if (onlyLoaded) {
      last = { ...last, loaded: st.loaded };
      renderLoaded(st);
    } else render(st, false);
    if (!st.task || st.task.task_id == null) last = st;
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
