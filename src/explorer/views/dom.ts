/// <reference lib="dom" />
/** A tiny DOM builder: chain data goes in as text nodes only, never as HTML. */

/** What an element can hold: nodes, text (numbers and bigints as text), nothing, or lists of these. */
export type Child = Node | string | number | bigint | null | undefined | false | readonly Child[];

/** Attribute values: a string, `true` for a bare attribute, or `false`/`undefined` for none. */
export type Attributes = Record<string, string | boolean | undefined>;

/** `<tag attrs…>children…</tag>`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, "");
    else if (typeof value === "string") element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

/** Append children (flattened; text as text nodes). */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child as readonly Child[]);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child as string | number | bigint)));
  }
}

/** An in-page link to a route (`#/…`). */
export function link(route: string, ...children: Child[]): HTMLAnchorElement {
  return h("a", { href: `#${route}` }, ...children);
}

/** A definition list of label/value pairs (stacks on a phone). */
export function facts(pairs: readonly (readonly [string, Child] | false)[]): HTMLDListElement {
  return h(
    "dl",
    { class: "facts" },
    pairs.flatMap((pair) => (pair === false ? [] : [h("dt", {}, pair[0]), h("dd", {}, pair[1])])),
  );
}

/** A table with a caption and column headers, wrapped so it scrolls sideways on a narrow screen. */
export function table(
  caption: string,
  headers: readonly string[],
  rows: readonly (readonly Child[])[],
): HTMLElement {
  return h(
    "div",
    { class: "scroll", role: "region", "aria-label": caption, tabindex: "0" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((title) => h("th", { scope: "col" }, title)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((cells) =>
          h(
            "tr",
            {},
            cells.map((cell) => h("td", {}, cell)),
          ),
        ),
      ),
    ),
  );
}
