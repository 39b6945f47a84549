// The layer of the plot that draws the features: one point each, which the
// pointer and the keyboard can pick.

import { latLon } from "./coords";
import type { Feature } from "./gen/routeguide/route_guide_pb";
import { locationKey, margin, toMapUnits, width, type LatLng } from "./mapunits";
import { element } from "./svg";

// The radius of a point in screen pixels, kept whatever the width of the map.
const pointRadiusPx = 4;

export interface Item {
  feature: Feature;
  el: SVGCircleElement;
  x: number;
  y: number;
}

// PointHandlers are the calls a point makes when the keyboard picks it.
export interface PointHandlers {
  select(feature: Feature): void;
  pick(point: LatLng): void;
}

export class Points {
  readonly el = element("g", { class: "points" });
  private readonly items: Item[] = [];
  private readonly byElement = new Map<Element, Item>();
  private readonly byLocation = new Map<string, Item[]>();
  private radius = pointRadiusPx;
  // roving is the point that the Tab key reaches; arrow keys move it.
  private roving: Item | undefined;

  constructor(private readonly handlers: PointHandlers) {
    this.el.addEventListener("keydown", (e) => this.keyDown(e));
  }

  get count(): number {
    return this.items.length;
  }

  clear(): void {
    this.el.replaceChildren();
    this.items.length = 0;
    this.byElement.clear();
    this.byLocation.clear();
    this.roving = undefined;
  }

  add(feature: Feature): void {
    const loc = feature.location ?? { latitude: 0, longitude: 0 };
    const { x, y } = toMapUnits(loc);
    const name = feature.name || "Unnamed point";
    const el = element("circle", {
      class: feature.name ? "feature" : "feature unnamed",
      cx: x,
      cy: y,
      r: this.radius,
      role: "button",
      tabindex: -1,
      "aria-label": `${name}, ${latLon(loc.latitude, loc.longitude)}`,
      "data-latitude": loc.latitude,
      "data-longitude": loc.longitude,
    });
    const title = element("title", {});
    title.textContent = name;
    el.append(title);
    this.el.append(el);
    const item = { feature, el, x, y };
    this.items.push(item);
    this.byElement.set(el, item);
    const key = locationKey(loc);
    this.byLocation.set(key, [...(this.byLocation.get(key) ?? []), item]);
    if (this.roving === undefined) {
      this.setRoving(item);
    }
  }

  // highlight marks the points at the feature's location as found by a
  // rectangle query.
  highlight(feature: Feature): void {
    for (const item of this.byLocation.get(locationKey(feature.location)) ?? []) {
      item.el.classList.add("hit");
    }
  }

  clearHighlights(): void {
    for (const item of this.items) {
      item.el.classList.remove("hit");
    }
  }

  // markSelected marks the points at a location as the one looked up.
  markSelected(location: LatLng | undefined): void {
    for (const item of this.items) {
      item.el.classList.remove("selected");
      item.el.removeAttribute("aria-pressed");
    }
    for (const item of this.byLocation.get(locationKey(location)) ?? []) {
      item.el.classList.add("selected");
      item.el.setAttribute("aria-pressed", "true");
    }
  }

  // resize keeps the points their size in screen pixels, for a map shown
  // this many pixels wide.
  resize(shown: number): void {
    this.radius = (pointRadiusPx * (width + 2 * margin)) / shown;
    for (const item of this.items) {
      item.el.setAttribute("r", String(this.radius));
    }
  }

  nearest(p: DOMPoint, within: number): Item | undefined {
    let best: Item | undefined;
    let bestDistance = within;
    for (const item of this.items) {
      const d = Math.hypot(item.x - p.x, item.y - p.y);
      if (d <= bestDistance) {
        best = item;
        bestDistance = d;
      }
    }
    return best;
  }

  // keyDown moves between points with the arrow keys: left and right go
  // west and east, up and down go north and south.
  private keyDown(e: KeyboardEvent): void {
    const current = this.byElement.get(e.target as Element);
    if (!current) {
      return;
    }
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.handlers.pick(current.feature.location ?? { latitude: 0, longitude: 0 });
      this.handlers.select(current.feature);
      return;
    }
    // Sorted afresh on each key: a few hundred points sort in no time.
    const westToEast = [...this.items].sort((a, b) => a.x - b.x || b.y - a.y);
    const southToNorth = [...this.items].sort((a, b) => b.y - a.y || a.x - b.x);
    let next: Item | undefined;
    switch (e.key) {
      case "ArrowRight":
        next = step(westToEast, current, 1);
        break;
      case "ArrowLeft":
        next = step(westToEast, current, -1);
        break;
      case "ArrowUp":
        next = step(southToNorth, current, 1);
        break;
      case "ArrowDown":
        next = step(southToNorth, current, -1);
        break;
      case "Home":
        next = westToEast[0];
        break;
      case "End":
        next = westToEast.at(-1);
        break;
      default:
        return;
    }
    e.preventDefault();
    if (next) {
      this.setRoving(next);
      next.el.focus();
    }
  }

  // setRoving makes item the point that the Tab key reaches.
  setRoving(item: Item): void {
    this.roving?.el.setAttribute("tabindex", "-1");
    this.roving = item;
    item.el.setAttribute("tabindex", "0");
  }
}

// step returns the item n places from item in list, stopping at the ends.
function step(list: Item[], item: Item, n: number): Item | undefined {
  return list[Math.max(0, Math.min(list.length - 1, list.indexOf(item) + n))];
}
