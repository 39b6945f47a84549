// The layer of the plot that marks live notes: one pin per location, with
// the count of the notes there.

import { latLon } from "./coords";
import { locationKey, toMapUnits, type LatLng } from "./mapunits";
import { element } from "./svg";

// NoteMark is the mark of the notes at one location.
export interface NoteMark {
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

export class NoteMarks {
  readonly el = element("g", { class: "notes" });
  private readonly marks = new Map<string, NoteMark>();

  // unitsPerPixel gives the map units in a screen pixel of the moment, as
  // the marks are drawn in screen pixels.
  constructor(private readonly unitsPerPixel: () => number) {}

  // add counts a note on the mark of its location, making the mark if it
  // is the first there, and makes the mark stand out for a moment.
  add(location: LatLng, message: string): void {
    const key = locationKey(location);
    let mark = this.marks.get(key);
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
      this.place(mark);
      this.marks.set(key, mark);
    }
    mark.n++;
    mark.el.dataset.count = String(mark.n);
    mark.count.textContent = mark.n > 1 ? (mark.n > 99 ? "99+" : String(mark.n)) : "";
    mark.title.textContent = `${mark.n} ${mark.n === 1 ? "note" : "notes"} at ${latLon(location.latitude, location.longitude)}; the last: \u2068${message}\u2069`;
    // The newest mark is drawn last, over older ones, and flashes.
    this.el.append(mark.el);
    mark.el.classList.remove("fresh");
    void mark.el.getBoundingClientRect(); // restarts the animation
    mark.el.classList.add("fresh");
  }

  // remove uncounts a note from the mark of its location, and takes the
  // mark away with the last note there.
  remove(location: LatLng): void {
    const key = locationKey(location);
    const mark = this.marks.get(key);
    if (!mark) {
      return;
    }
    mark.n--;
    if (mark.n <= 0) {
      mark.el.remove();
      this.marks.delete(key);
      return;
    }
    mark.el.dataset.count = String(mark.n);
    mark.count.textContent = mark.n > 1 ? (mark.n > 99 ? "99+" : String(mark.n)) : "";
    mark.title.textContent = `${mark.n} ${mark.n === 1 ? "note" : "notes"} at ${latLon(location.latitude, location.longitude)}`;
  }

  clear(): void {
    this.el.replaceChildren();
    this.marks.clear();
  }

  // resize keeps the marks their size in screen pixels.
  resize(): void {
    for (const mark of this.marks.values()) {
      this.place(mark);
    }
  }

  // nearest returns the note mark nearest p within a distance, measured
  // from the middle of its pin as well as its tip.
  nearest(p: DOMPoint, within: number): NoteMark | undefined {
    const pinMiddle = 12 * this.unitsPerPixel();
    let best: NoteMark | undefined;
    let bestDistance = within;
    for (const mark of this.marks.values()) {
      const d = Math.min(Math.hypot(mark.x - p.x, mark.y - p.y), Math.hypot(mark.x - p.x, mark.y - pinMiddle - p.y));
      if (d <= bestDistance) {
        best = mark;
        bestDistance = d;
      }
    }
    return best;
  }

  private place(mark: NoteMark): void {
    mark.el.setAttribute("transform", `translate(${mark.x} ${mark.y}) scale(${this.unitsPerPixel()})`);
  }
}
