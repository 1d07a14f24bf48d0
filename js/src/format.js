// @ts-check
/**
 * Pure formatting of times, durations, counts and state names. Times arrive from the kernel as
 * ISO 8601 UTC strings ("2026-11-27T13:14:05.123Z"); the explorer shows them in UTC, the same
 * zone as the activity heatmap, so what a user reads matches `wf.runs()` in the kernel.
 */

/** States a run or task can still leave (pending, scheduled, running); the rest are final. */
export const ACTIVE_STATES = new Set(["pending", "scheduled", "running"]);

/** Every state, in the order the legend shows them. */
export const STATES = [
  "running",
  "pending",
  "scheduled",
  "completed",
  "failed",
  "failed_after",
  "stopped",
  "expired",
  "did_not_run",
  "unknown",
];

/** @param {string | null | undefined} state */
export function isActive(state) {
  return ACTIVE_STATES.has(String(state));
}

/** @param {string | null | undefined} state  e.g. "did_not_run" -> "did not run" */
export function stateLabel(state) {
  return state ? String(state).replace(/_/g, " ") : "never ran";
}

/** @param {string | null | undefined} state  a CSS-safe class suffix */
export function stateClass(state) {
  const known = STATES.includes(String(state));
  return `dt-state-${known ? state : "none"}`;
}

/**
 * @param {string | null | undefined} iso
 * @returns {number | null} epoch milliseconds
 */
export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** @param {number} n */
const pad = (n) => String(n).padStart(2, "0");

/**
 * "2026-11-27 13:14:05" (UTC), or "—".
 * @param {string | null | undefined} iso
 */
export function formatTime(iso) {
  const ms = parseTime(iso);
  if (ms === null) return "—";
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/**
 * A duration in seconds, as people read it: "0.42 s", "12.3 s", "3m 04s", "2h 05m", "3d 04h".
 * @param {number | null | undefined} seconds
 */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.floor(seconds);
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m ${pad(total % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${pad(h % 24)}h`;
}

/**
 * The duration of a run or task: its stored one, or for one still running the time since it
 * started (so the table ticks while a run is live).
 * @param {{duration?: number | null, start_time?: string | null, end_time?: string | null, state?: string}} item
 * @param {number} nowMs
 */
export function elapsed(item, nowMs) {
  if (item.duration !== null && item.duration !== undefined) return item.duration;
  const start = parseTime(item.start_time);
  if (start === null) return null;
  const end = parseTime(item.end_time);
  if (end !== null) return (end - start) / 1000;
  return isActive(item.state) ? Math.max(0, (nowMs - start) / 1000) : null;
}

/** @param {number} n  "100,000" */
export function formatCount(n) {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * The value of an <input type="datetime-local"> for an ISO UTC time ("2026-11-27T13:14").
 * @param {string | null | undefined} iso
 */
export function toInputValue(iso) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return formatTime(new Date(ms).toISOString()).replace(" ", "T").slice(0, 16);
}

/**
 * An ISO UTC string from a datetime-local value read as UTC, or null when empty/invalid.
 * @param {string} value
 */
export function fromInputValue(value) {
  if (!value) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0);
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** Quick ranges offered beside the date inputs, in hours (null = all time). */
export const PRESETS = [
  { key: "1h", label: "1h", hours: 1 },
  { key: "24h", label: "24h", hours: 24 },
  { key: "7d", label: "7d", hours: 24 * 7 },
  { key: "30d", label: "30d", hours: 24 * 30 },
  { key: "all", label: "All", hours: null },
];

/**
 * The range of a preset ending now: {start_time, end_time} as ISO strings or null.
 * @param {string} key
 * @param {number} nowMs
 */
export function presetRange(key, nowMs) {
  const preset = PRESETS.find((p) => p.key === key);
  if (!preset || preset.hours === null) return { start_time: null, end_time: null };
  const start = new Date(nowMs - preset.hours * 3600 * 1000);
  start.setUTCSeconds(0, 0);
  return { start_time: start.toISOString().replace(".000Z", "Z"), end_time: null };
}

/**
 * "12 B", "3.4 KB", "1.2 MB".
 * @param {number} n
 */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * The text inputs of the date range ("2026-11-27 13:05", 24-hour, UTC) for an ISO time.
 * @param {string | null | undefined} iso
 */
export function toRangeText(iso) {
  return toInputValue(iso).replace("T", " ");
}

/**
 * Read a range input: "" -> {ok, iso: null}; "2026-11-27 13:05" (or with T, seconds, or just a
 * date) -> the ISO UTC string; anything else -> an error that shows the format.
 * @param {string} text
 * @returns {{ok: true, iso: string | null} | {ok: false, error: string}}
 */
export function parseRangeText(text) {
  const t = text.trim();
  if (!t) return { ok: true, iso: null };
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(t);
  if (m) {
    const [y, mo, d, hh, mi, ss] = [+m[1], +m[2], +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0];
    const ms = Date.UTC(y, mo - 1, d, hh, mi, ss);
    const back = new Date(ms);
    if (back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && hh < 24 && mi < 60 && ss < 60)
      return { ok: true, iso: back.toISOString().replace(".000Z", "Z") };
  }
  return {
    ok: false,
    error: `"${t}" is not a UTC date and time: write YYYY-MM-DD HH:MM (24-hour), e.g. 2026-11-27 13:05.`,
  };
}

/**
 * Bytes as people read them: "512 B", "48.0 MB", "1.2 GB".
 * @param {number | null | undefined} n
 */
export function formatMemory(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  return formatBytes(n);
}

/**
 * An address to link to: http(s) only (a `javascript:` or `data:` URL from a job is text, never
 * a link). Null for anything else.
 * @param {unknown} url
 * @returns {string | null}
 */
export function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\/[^\s]+$/i.test(url) ? url : null;
}

const JOB_KINDS = /** @type {Record<string, string>} */ ({
  service: "service",
  app: "app",
  excel_addin: "Excel add-in",
});

/**
 * "app · streamlit", "service", "Excel add-in".
 * @param {string | null | undefined} kind
 * @param {string | null | undefined} [framework]
 */
export function jobKind(kind, framework) {
  const name = JOB_KINDS[kind ?? ""] ?? String(kind ?? "—");
  return framework ? `${name} · ${framework}` : name;
}
