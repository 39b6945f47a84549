// The graticule behind the plot's points.

import { height, width } from "./mapunits";
import { element } from "./svg";

// graticule draws a labelled line every 30°, the equator and prime
// meridian stronger, so that points can be placed by eye.
export function graticule(): SVGGElement {
  const g = element("g", { class: "graticule", "aria-hidden": "true" });
  for (let lon = -150; lon <= 150; lon += 30) {
    const x = (lon + 180) * 10;
    g.append(
      element("line", { x1: x, y1: 0, x2: x, y2: height, class: lon === 0 ? "axis" : "" }),
      label(x + 10, 45, `${Math.abs(lon)}°${lon < 0 ? "W" : lon > 0 ? "E" : ""}`),
    );
  }
  for (let lat = -60; lat <= 60; lat += 30) {
    const y = (90 - lat) * 10;
    g.append(
      element("line", { x1: 0, y1: y, x2: width, y2: y, class: lat === 0 ? "axis" : "" }),
      label(12, y - 12, `${Math.abs(lat)}°${lat < 0 ? "S" : lat > 0 ? "N" : ""}`),
    );
  }
  return g;
}

function label(x: number, y: number, text: string): SVGTextElement {
  const t = element("text", { x, y });
  t.textContent = text;
  return t;
}
