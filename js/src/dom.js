// @ts-check
/**
 * Tiny DOM helpers. Everything the explorer shows goes through here, and text always
 * lands in `textContent` / attribute values: no HTML string from the kernel (task output,
 * results, names) is ever parsed. A JS test (test/safety.test.js) checks that no module parses HTML.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, any>} Props
 */

/**
 * Apply props to an element: `class`, `style` (object), `dataset` (object), `on*` listeners,
 * `text`, booleans as presence, everything else as an attribute.
 * @param {Element} node
 * @param {Props} props
 */
function applyProps(node, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", String(value));
    else if (key === "text") node.textContent = String(value);
    else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) {
        if (v !== undefined && v !== null) /** @type {HTMLElement} */ (node).style.setProperty(prop, String(v));
      }
    } else if (key === "dataset" && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) /** @type {HTMLElement} */ (node).dataset[k] = String(v);
    } else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" && "value" in node) {
      /** @type {HTMLInputElement} */ (node).value = String(value);
    } else if (key === "checked" && "checked" in node) {
      /** @type {HTMLInputElement} */ (node).checked = Boolean(value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
}

/**
 * @param {Node} node
 * @param {Child[]} children
 */
function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/**
 * An HTML element. Strings and numbers among the children become text nodes.
 * @param {string} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  applyProps(node, props);
  append(node, /** @type {Child[]} */ (children));
  return node;
}

/**
 * An SVG element.
 * @param {string} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {SVGElement}
 */
export function s(tag, props = {}, ...children) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  applyProps(node, props);
  append(node, /** @type {Child[]} */ (children));
  return node;
}

/**
 * Replace all children of `node`.
 * @param {Element} node
 * @param {...(Child | Child[])} children
 */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, /** @type {Child[]} */ (children));
}
