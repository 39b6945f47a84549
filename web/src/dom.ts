// Small helpers for building the page's HTML.

type Child = Node | string;

// h creates an HTML element with attributes and children.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    el.setAttribute(name, String(value));
  }
  el.append(...children);
  return el;
}

// byId returns the element with the id, which the page must have.
export function byId<T extends HTMLElement | SVGElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) {
    throw new Error(`page has no ${type.name} #${id}`);
  }
  return el;
}
