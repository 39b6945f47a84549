// The plot of features and notes: an equirectangular projection drawn in
// SVG, with Natural Earth's land and a graticule behind the points. The land
// is bundled with the script, so the map works offline. The points and the
// note marks are layers of their own; the plot draws them in order and turns
// the pointer into picks and rectangles.

import { E7 } from "./coords";
import type { Feature } from "./gen/routeguide/route_guide_pb";
import { graticule } from "./graticule";
import { landPath } from "./land";
import { areaOf, height, margin, pointAt, toMapUnits, width, type Area, type LatLng } from "./mapunits";
import { NoteMarks } from "./notemarks";
import { Points } from "./points";
import { element, setAttributes } from "./svg";

// Sizes in screen pixels, kept whatever the width of the map.
const pickRadiusPx = 16;
const dragThresholdPx = 5;

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

export class Plot {
  private readonly points: Points;
  private readonly notes: NoteMarks;
  private readonly pickMark: SVGGElement;
  private readonly box: SVGRectElement;
  private drag: { start: DOMPoint; clientX: number; clientY: number; moved: boolean } | undefined;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly handlers: PlotHandlers,
  ) {
    this.points = new Points(handlers);
    this.notes = new NoteMarks(() => this.unitsPerPixel());
    svg.setAttribute("viewBox", `${-margin} ${-margin} ${width + 2 * margin} ${height + 2 * margin}`);
    svg.append(
      element("rect", { class: "sea", width, height }),
      element("path", { class: "land", d: landPath(), "aria-hidden": "true" }),
      graticule(),
      this.points.el,
      this.notes.el,
      (this.pickMark = pickMark()),
      (this.box = element("rect", { class: "area", visibility: "hidden" })),
    );
    svg.addEventListener("pointerdown", (e) => this.pointerDown(e));
    svg.addEventListener("pointermove", (e) => this.pointerMove(e));
    svg.addEventListener("pointerup", (e) => this.pointerUp(e));
    svg.addEventListener("pointercancel", () => this.endDrag());
    new ResizeObserver(() => this.resize()).observe(svg);
  }

  get count(): number {
    return this.points.count;
  }

  clear(): void {
    this.points.clear();
    this.showArea(undefined);
  }

  add(feature: Feature): void {
    this.points.add(feature);
  }

  // highlight marks the points at the feature's location as found by a
  // rectangle query.
  highlight(feature: Feature): void {
    this.points.highlight(feature);
  }

  clearHighlights(): void {
    this.points.clearHighlights();
  }

  // addNote counts a note on the mark of its location, making the mark if it
  // is the first there, and makes the mark stand out for a moment.
  addNote(location: LatLng, message: string): void {
    this.notes.add(location, message);
  }

  // removeNote uncounts a deleted note from the mark of its location.
  removeNote(location: LatLng): void {
    this.notes.remove(location);
  }

  clearNotes(): void {
    this.notes.clear();
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

  // markSelected marks the points at a location as the one looked up.
  markSelected(location: LatLng | undefined): void {
    this.points.markSelected(location);
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
    this.points.resize(shown);
    this.notes.resize();
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
    const item = this.points.nearest(at, within);
    const note = this.notes.nearest(at, within);
    // The nearer of a feature and a note wins; the pin of a note stands
    // above its location, so a click on the pin counts as on the location.
    if (note && (!item || Math.hypot(note.x - at.x, note.y - at.y) < Math.hypot(item.x - at.x, item.y - at.y))) {
      this.handlers.pick(note.location);
      return;
    }
    if (item) {
      this.points.setRoving(item);
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
}

// pickMark is the cross hair on the point picked for a note, drawn in
// screen pixels like the note marks.
function pickMark(): SVGGElement {
  const g = element("g", { class: "pick", visibility: "hidden", "aria-hidden": "true" });
  g.append(element("circle", { r: 6 }), element("path", { d: "M-12 0h7m10 0h7M0-12v7m0 10v7" }));
  return g;
}
