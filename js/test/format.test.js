import assert from "node:assert/strict";
import { test } from "node:test";
import {
  elapsed,
  formatBytes,
  formatCount,
  formatDuration,
  formatTime,
  fromInputValue,
  isActive,
  jobKind,
  parseTime,
  presetRange,
  safeUrl,
  stateClass,
  stateLabel,
  toInputValue,
} from "../src/format.js";

test("formatTime shows UTC with seconds, or a dash", () => {
  assert.equal(formatTime("2026-11-27T13:04:05.678Z"), "2026-11-27 13:04:05");
  assert.equal(formatTime("2026-11-27T13:04:05+02:00"), "2026-11-27 11:04:05");
  assert.equal(formatTime(null), "—");
  assert.equal(formatTime("not a time"), "—");
});

test("formatDuration picks the unit a person reads", () => {
  assert.deepEqual([0.004, 0.42, 3.21, 12.4, 59.6, 184, 3725, 90000, null, -1, Number.NaN].map(formatDuration), [
    "0.00 s",
    "0.42 s",
    "3.2 s",
    "12 s",
    "60 s",
    "3m 04s",
    "1h 02m",
    "1d 01h",
    "—",
    "—",
    "—",
  ]);
});

test("elapsed uses the stored duration, the end time, or now for a running item", () => {
  const now = Date.parse("2026-01-01T00:01:00Z");
  assert.equal(elapsed({ duration: 2.5, start_time: "2026-01-01T00:00:00Z" }, now), 2.5);
  assert.equal(
    elapsed({ duration: null, start_time: "2026-01-01T00:00:00Z", end_time: "2026-01-01T00:00:10Z" }, now),
    10,
  );
  assert.equal(
    elapsed({ duration: null, start_time: "2026-01-01T00:00:00Z", end_time: null, state: "running" }, now),
    60,
  );
  assert.equal(
    elapsed({ duration: null, start_time: "2026-01-01T00:00:00Z", end_time: null, state: "failed" }, now),
    null,
  );
  assert.equal(elapsed({ duration: null, start_time: null, state: "pending" }, now), null);
});

test("counts, bytes, states", () => {
  assert.deepEqual([0, 999, 1000, 100000, 1234567].map(formatCount), ["0", "999", "1,000", "100,000", "1,234,567"]);
  assert.deepEqual([12, 3500, 5 * 1024 * 1024].map(formatBytes), ["12 B", "3.4 KB", "5.0 MB"]);
  assert.deepEqual(["running", "pending", "scheduled", "completed", "failed"].map(isActive), [
    true,
    true,
    true,
    false,
    false,
  ]);
  assert.equal(stateLabel("did_not_run"), "did not run");
  assert.equal(stateLabel(null), "never ran");
  assert.equal(stateClass("failed_after"), "dt-state-failed_after");
  assert.equal(stateClass("<img>"), "dt-state-none");
});

test("datetime-local values round-trip as UTC", () => {
  assert.equal(toInputValue("2026-11-27T13:04:05Z"), "2026-11-27T13:04");
  assert.equal(toInputValue(""), "");
  assert.equal(fromInputValue("2026-11-27T13:04"), "2026-11-27T13:04:00Z");
  assert.equal(fromInputValue("2026-11-27T13:04:30"), "2026-11-27T13:04:30Z");
  assert.equal(fromInputValue(""), null);
  assert.equal(fromInputValue("yesterday"), null);
  assert.equal(parseTime(fromInputValue(toInputValue("2026-02-03T04:05:00Z"))), Date.parse("2026-02-03T04:05:00Z"));
});

test("presets end now and start on a whole minute", () => {
  const now = Date.parse("2026-11-27T13:04:05.500Z");
  assert.deepEqual(presetRange("1h", now), { start_time: "2026-11-27T12:04:00Z", end_time: null });
  assert.deepEqual(presetRange("7d", now), { start_time: "2026-11-20T13:04:00Z", end_time: null });
  assert.deepEqual(presetRange("all", now), { start_time: null, end_time: null });
  assert.deepEqual(presetRange("nonsense", now), { start_time: null, end_time: null });
});

test("only http(s) addresses of a service become links", () => {
  assert.deepEqual(
    [
      "http://127.0.0.1:8501/",
      "HTTPS://example.com/a?b=1",
      "javascript:alert(1)",
      "data:text/html,<b>x</b>",
      "http://a b",
      "//host/",
      null,
      42,
    ].map(safeUrl),
    ["http://127.0.0.1:8501/", "HTTPS://example.com/a?b=1", null, null, null, null, null, null],
  );
});

test("a job's kind reads as words, with its framework", () => {
  assert.deepEqual(
    [jobKind("app", "streamlit"), jobKind("service"), jobKind("excel_addin", null), jobKind(undefined)],
    ["app · streamlit", "service", "Excel add-in", "—"],
  );
});
