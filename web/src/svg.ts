// Small helpers for building the plot's SVG.

const svgNS = "http://www.w3.org/2000/svg";

// element creates an SVG element with attributes.
export function element<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(svgNS, tag);
  setAttributes(el, attributes);
  return el;
}

export function setAttributes(el: Element, attributes: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(attributes)) {
    el.setAttribute(name, String(value));
  }
}
