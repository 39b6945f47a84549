// The plot of features and notes: an equirectangular projection drawn in
// SVG, with Natural Earth's land and a graticule behind the points. The land
// is bundled with the script, so the map works offline.

import { E7, clamp, latLon } from "./coords";
import type { Feature } from "./gen/routeguide/route_guide_pb";
import { landPath } from "./land";

const svgNS = "http://www.w3.org/2000/svg";

// One map unit is a tenth of a degree.
const width = 3600;
const height = 1800;
// The margin keeps points on the edges, such as the poles, whole.
const margin = 30;

// Sizes in screen pixels, kept whatever the width of the map.
const pointRadiusPx = 4;
const pickRadiusPx = 16;
const dragThresholdPx = 5;

export interface LatLng {
  latitude: number;
  longitude: number;
}

// Area is a rectangle with its corners in order: lo is south-west, hi is
// north-east.
export interface Area {
  lo: LatLng;
  hi: LatLng;
}

export interface PlotHandlers {
  // select is called when the user picks a feature, by pointer or keyboard.
  select(feature: Feature): void;
  // pick is called for every point the user picks, by pointer or keyboard,
  // before select if it is a feature's: the location of the feature or note
  // under the pointer, or else the point clicked, to a hundredth of a degree.
  pick(point: LatLng): void;
  // area is called when the user has dragged a rectangle.
  area(area: Area): void;
}

interface Item {
  feature: Feature;
  el: SVGCircleElement;
  x: number;
  y: number;
}

// NoteMark is the mark of the notes at one location.
interface NoteMark {
  location: LatLng;
  el: SVGGElement;
  count: SVGTextElement;
  title: SVGTitleElement;
  n: number;
  x: number;
  y: number;
}

// notePin is the outline of a note's mark in screen pixels, a pin whose tip
// is on the note's location, so that the feature there stays visible.
export const notePin = "M0 0C-1.5-4-7-8-7-13.5a7 7 0 1 1 14 0C7-8 1.5-4 0 0Z";

export class Plot {
  private readonly points: SVGGElement;
  private readonly notes: SVGGElement;
  private readonly pickMark: SVGGElement;
  private readonly box: SVGRectElement;
  private readonly noteMarks = new Map<string, NoteMark>();
  private readonly items: Item[] = [];
  private readonly byElement = new Map<Element, Item>();
  private readonly byLocation = new Map<string, Item[]>();
  private radius = pointRadiusPx;
  // roving is the point that the Tab key reaches; arrow keys move it.
  private roving: Item | undefined;
  private drag: { start: DOMPoint; clientX: number; clientY: number; moved: boolean } | undefined;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly handlers: PlotHandlers,
  ) {
    svg.setAttribute("viewBox", `${-margin} ${-margin} ${width + 2 * margin} ${height + 2 * margin}`);
    svg.append(
      element("rect", { class: "sea", width, height }),
      element("path", { class: "land", d: landPath(), "aria-hidden": "true" }),
      graticule(),
      (this.points = element("g", { class: "points" })),
      (this.notes = element("g", { class: "notes" })),
      (this.pickMark = pickMark()),
      (this.box = element("rect", { class: "area", visibility: "hidden" })),
    );
    svg.addEventListener("pointerdown", (e) => this.pointerDown(e));
    svg.addEventListener("pointermove", (e) => this.pointerMove(e));
    svg.addEventListener("pointerup", (e) => this.pointerUp(e));
    svg.addEventListener("pointercancel", () => this.endDrag());
    this.points.addEventListener("keydown", (e) => this.keyDown(e));
    new ResizeObserver(() => this.resize()).observe(svg);
  }

  get count(): number {
    return this.items.length;
  }

  clear(): void {
    this.points.replaceChildren();
    this.items.length = 0;
    this.byElement.clear();
    this.byLocation.clear();
    this.roving = undefined;
    this.showArea(undefined);
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
    this.points.append(el);
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

  // addNote counts a note on the mark of its location, making the mark if it
  // is the first there, and makes the mark stand out for a moment.
  addNote(location: LatLng, message: string): void {
    const key = locationKey(location);
    let mark = this.noteMarks.get(key);
    if (!mark) {
      const { x, y } = toMapUnits(location);
      const el = element("g", {
        class: "note",
        "data-latitude": location.latitude,
        "data-longitude": location.longitude,
      });
      const count = element("text", { x: 0, y: -13.5 });
      const title = element("title", {});
      el.append(element("path", { d: notePin }), count, title);
      mark = { location, el, count, title, n: 0, x, y };
      this.placeNote(mark);
      this.noteMarks.set(key, mark);
    }
    mark.n++;
    mark.el.dataset.count = String(mark.n);
    mark.count.textContent = mark.n > 1 ? (mark.n > 99 ? "99+" : String(mark.n)) : "";
    mark.title.textContent = `${mark.n} ${mark.n === 1 ? "note" : "notes"} at ${latLon(location.latitude, location.longitude)}; the last: ${message}`;
    // The newest mark is drawn last, over older ones, and flashes.
    this.notes.append(mark.el);
    mark.el.classList.remove("fresh");
    void mark.el.getBoundingClientRect(); // restarts the animation
    mark.el.classList.add("fresh");
  }

  clearNotes(): void {
    this.notes.replaceChildren();
    this.noteMarks.clear();
  }

  // showPick marks the point where a note would be posted, or hides it.
  showPick(point: LatLng | undefined): void {
    if (!point) {
      this.pickMark.setAttribute("visibility", "hidden");
      return;
    }
    const { x, y } = toMapUnits(point);
    this.pickMark.dataset.latitude = String(point.latitude);
    this.pickMark.dataset.longitude = String(point.longitude);
    this.pickMark.setAttribute("transform", `translate(${x} ${y}) scale(${this.unitsPerPixel()})`);
    this.pickMark.setAttribute("visibility", "visible");
  }

  private placeNote(mark: NoteMark): void {
    mark.el.setAttribute("transform", `translate(${mark.x} ${mark.y}) scale(${this.unitsPerPixel()})`);
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

  // showArea outlines a rectangle on the map, or hides it.
  showArea(area: Area | undefined): void {
    if (!area) {
      this.box.setAttribute("visibility", "hidden");
      return;
    }
    const x1 = (area.lo.longitude / E7 + 180) * 10;
    const x2 = (area.hi.longitude / E7 + 180) * 10;
    const y1 = (90 - area.hi.latitude / E7) * 10;
    const y2 = (90 - area.lo.latitude / E7) * 10;
    setAttributes(this.box, {
      x: Math.min(x1, x2),
      y: Math.min(y1, y2),
      width: Math.abs(x2 - x1),
      height: Math.abs(y2 - y1),
      visibility: "visible",
    });
  }

  private resize(): void {
    const shown = this.svg.getBoundingClientRect().width;
    if (shown === 0) {
      return;
    }
    this.radius = (pointRadiusPx * (width + 2 * margin)) / shown;
    for (const item of this.items) {
      item.el.setAttribute("r", String(this.radius));
    }
    for (const mark of this.noteMarks.values()) {
      this.placeNote(mark);
    }
    if (this.pickMark.getAttribute("visibility") === "visible") {
      this.showPick({
        latitude: Number(this.pickMark.dataset.latitude),
        longitude: Number(this.pickMark.dataset.longitude),
      });
    }
  }

  private unitsPerPixel(): number {
    const shown = this.svg.getBoundingClientRect().width;
    return shown > 0 ? (width + 2 * margin) / shown : 1;
  }

  private toMap(e: PointerEvent): DOMPoint {
    const ctm = this.svg.getScreenCTM();
    const p = new DOMPoint(e.clientX, e.clientY);
    const m = ctm ? p.matrixTransform(ctm.inverse()) : p;
    return new DOMPoint(Math.max(0, Math.min(width, m.x)), Math.max(0, Math.min(height, m.y)));
  }

  private pointerDown(e: PointerEvent): void {
    if (e.button !== 0) {
      return;
    }
    // No text selection or native drag while drawing a rectangle.
    e.preventDefault();
    this.svg.setPointerCapture(e.pointerId);
    this.drag = { start: this.toMap(e), clientX: e.clientX, clientY: e.clientY, moved: false };
  }

  private pointerMove(e: PointerEvent): void {
    const drag = this.drag;
    if (!drag) {
      return;
    }
    if (!drag.moved && Math.hypot(e.clientX - drag.clientX, e.clientY - drag.clientY) < dragThresholdPx) {
      return;
    }
    drag.moved = true;
    this.showArea(areaOf(drag.start, this.toMap(e)));
  }

  private pointerUp(e: PointerEvent): void {
    const drag = this.drag;
    this.endDrag();
    if (!drag) {
      return;
    }
    if (drag.moved) {
      const area = areaOf(drag.start, this.toMap(e));
      this.showArea(area);
      this.handlers.area(area);
      return;
    }
    const at = this.toMap(e);
    const within = pickRadiusPx * this.unitsPerPixel();
    const item = this.nearest(at, within);
    const note = this.nearestNote(at, within);
    // The nearer of a feature and a note wins; the pin of a note stands
    // above its location, so a click on the pin counts as on the location.
    if (note && (!item || Math.hypot(note.x - at.x, note.y - at.y) < Math.hypot(item.x - at.x, item.y - at.y))) {
      this.handlers.pick(note.location);
      return;
    }
    if (item) {
      this.setRoving(item);
      item.el.focus({ preventScroll: true });
      this.handlers.pick(item.feature.location ?? { latitude: 0, longitude: 0 });
      this.handlers.select(item.feature);
      return;
    }
    this.handlers.pick(pointAt(at));
  }

  private endDrag(): void {
    this.drag = undefined;
  }

  // nearestNote returns the note mark nearest p within a distance, measured
  // from the middle of its pin as well as its tip.
  private nearestNote(p: DOMPoint, within: number): NoteMark | undefined {
    const pinMiddle = 12 * this.unitsPerPixel();
    let best: NoteMark | undefined;
    let bestDistance = within;
    for (const mark of this.noteMarks.values()) {
      const d = Math.min(Math.hypot(mark.x - p.x, mark.y - p.y), Math.hypot(mark.x - p.x, mark.y - pinMiddle - p.y));
      if (d <= bestDistance) {
        best = mark;
        bestDistance = d;
      }
    }
    return best;
  }

  private nearest(p: DOMPoint, within: number): Item | undefined {
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

  private setRoving(item: Item): void {
    this.roving?.el.setAttribute("tabindex", "-1");
    this.roving = item;
    item.el.setAttribute("tabindex", "0");
  }
}

// step returns the item n places from item in list, stopping at the ends.
function step(list: Item[], item: Item, n: number): Item | undefined {
  return list[Math.max(0, Math.min(list.length - 1, list.indexOf(item) + n))];
}

function toMapUnits(p: LatLng): { x: number; y: number } {
  return { x: (p.longitude / E7 + 180) * 10, y: (90 - p.latitude / E7) * 10 };
}

// Map positions are rounded to a hundredth of a degree: a pixel is worth far
// more, and round numbers read better in the forms.
const round = (degrees: number) => Math.round(degrees * 100) * (E7 / 100);
const lon = (x: number) => clamp(round(x / 10 - 180), 180);
const lat = (y: number) => clamp(round(90 - y / 10), 90);

function pointAt(p: DOMPoint): LatLng {
  return { latitude: lat(p.y), longitude: lon(p.x) };
}

// areaOf returns the rectangle between two map positions.
function areaOf(a: DOMPoint, b: DOMPoint): Area {
  return {
    lo: { latitude: lat(Math.max(a.y, b.y)), longitude: lon(Math.min(a.x, b.x)) },
    hi: { latitude: lat(Math.min(a.y, b.y)), longitude: lon(Math.max(a.x, b.x)) },
  };
}

function locationKey(p: LatLng | undefined): string {
  return `${p?.latitude ?? 0},${p?.longitude ?? 0}`;
}

// graticule draws a labelled line every 30°, the equator and prime
// meridian stronger, so that points can be placed by eye.
function graticule(): SVGGElement {
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

// pickMark is the cross hair on the point picked for a note, drawn in
// screen pixels like the note marks.
function pickMark(): SVGGElement {
  const g = element("g", { class: "pick", visibility: "hidden", "aria-hidden": "true" });
  g.append(element("circle", { r: 6 }), element("path", { d: "M-12 0h7m10 0h7M0-12v7m0 10v7" }));
  return g;
}

function label(x: number, y: number, text: string): SVGTextElement {
  const t = element("text", { x, y });
  t.textContent = text;
  return t;
}

function element<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(svgNS, tag);
  setAttributes(el, attributes);
  return el;
}

function setAttributes(el: Element, attributes: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(attributes)) {
    el.setAttribute(name, String(value));
  }
}
