// @ts-check
/**
 * ANSI colour codes in task logs (SGR escapes, as printed by colorama, rich, pytest, logging
 * handlers) turned into styled text segments. Pure: the view makes one <span> per segment with
 * `textContent`, so a log can colour text but never inject markup. Other escape sequences
 * (cursor movement, titles) are dropped.
 */

/**
 * @typedef {{text: string, fg: string | null, bg: string | null, bold: boolean, italic: boolean,
 *   underline: boolean, dim: boolean}} Segment
 */

/** The 16 basic colours by SGR index (0-7 normal, 8-15 bright); the view maps them to CSS. */
export const BASIC = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

/** @param {number} n 0..255 -> a CSS colour (xterm's 256-colour table). */
export function xterm256(n) {
  if (n < 16) return `ansi-${n < 8 ? BASIC[n] : `bright-${BASIC[n - 8]}`}`;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const steps = [0, 95, 135, 175, 215, 255];
  return `rgb(${steps[Math.floor(i / 36)]},${steps[Math.floor(i / 6) % 6]},${steps[i % 6]})`;
}

// CSI ... final byte, OSC ... BEL/ST, and lone ESC + one char.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * @param {string} text
 * @returns {Segment[]}
 */
export function parseAnsi(text) {
  /** @type {Segment[]} */
  const out = [];
  /** @type {Omit<Segment, "text">} */
  let st = { fg: null, bg: null, bold: false, italic: false, underline: false, dim: false };
  let last = 0;
  /** @param {string} t */
  const push = (t) => {
    if (!t) return;
    const prev = out[out.length - 1];
    if (
      prev &&
      prev.fg === st.fg &&
      prev.bg === st.bg &&
      prev.bold === st.bold &&
      prev.italic === st.italic &&
      prev.underline === st.underline &&
      prev.dim === st.dim
    )
      prev.text += t;
    else out.push({ text: t, ...st });
  };
  if (text.indexOf("\x1b") < 0) {
    push(text);
    return out;
  }
  ESCAPES.lastIndex = 0;
  for (let m = ESCAPES.exec(text); m; m = ESCAPES.exec(text)) {
    push(text.slice(last, m.index));
    last = ESCAPES.lastIndex;
    if (m[2] !== "m") continue; // not a colour: dropped
    st = { ...st };
    const codes = (m[1] || "0").split(/[;:]/).map((c) => (c === "" ? 0 : Number(c)));
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) st = { fg: null, bg: null, bold: false, italic: false, underline: false, dim: false };
      else if (c === 1) st.bold = true;
      else if (c === 2) st.dim = true;
      else if (c === 3) st.italic = true;
      else if (c === 4) st.underline = true;
      else if (c === 22) st.bold = st.dim = false;
      else if (c === 23) st.italic = false;
      else if (c === 24) st.underline = false;
      else if (c >= 30 && c <= 37) st.fg = `ansi-${BASIC[c - 30]}`;
      else if (c >= 90 && c <= 97) st.fg = `ansi-bright-${BASIC[c - 90]}`;
      else if (c >= 40 && c <= 47) st.bg = `ansi-${BASIC[c - 40]}`;
      else if (c >= 100 && c <= 107) st.bg = `ansi-bright-${BASIC[c - 100]}`;
      else if (c === 39) st.fg = null;
      else if (c === 49) st.bg = null;
      else if ((c === 38 || c === 48) && codes[i + 1] === 5 && i + 2 < codes.length) {
        const colour = xterm256(Math.min(255, Math.max(0, codes[i + 2])));
        if (c === 38) st.fg = colour;
        else st.bg = colour;
        i += 2;
      } else if ((c === 38 || c === 48) && codes[i + 1] === 2 && i + 4 < codes.length) {
        const [r, g, b] = codes.slice(i + 2, i + 5).map((v) => Math.min(255, Math.max(0, v)));
        if (c === 38) st.fg = `rgb(${r},${g},${b})`;
        else st.bg = `rgb(${r},${g},${b})`;
        i += 4;
      }
    }
  }
  push(text.slice(last));
  return out;
}

/** @param {string} text  the text without any escape sequence */
export function stripAnsi(text) {
  ESCAPES.lastIndex = 0;
  return text.replace(ESCAPES, "");
}
