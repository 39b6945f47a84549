// The features: every one streamed onto the plot, point look-ups with
// GetFeature and rectangle queries with ListFeatures, from the map or from
// their forms.

import { errorView, inputErrorView, renew, via } from "./calls";
import { transportLabels } from "./client";
import { InputError, latLon, world } from "./coords";
import { byId, h } from "./dom";
import { fill, inRange, ordered, read } from "./forms";
import type { Feature } from "./gen/routeguide/route_guide_pb";
import type { Area, LatLng } from "./mapunits";
import type { Plot } from "./plot";
import { clients, transport } from "./transport";

const count = byId("count", HTMLParagraphElement);
const featureResult = byId("feature-result", HTMLDivElement);
export const pointForm = byId("point-form", HTMLFormElement);
export const rectForm = byId("rect-form", HTMLFormElement);
const listStatus = byId("list-status", HTMLParagraphElement);
const list = byId("list", HTMLOListElement);

export class Features {
  // Each kind of call has a controller, so that a new call abandons the one
  // it replaces and stale answers never overwrite fresh ones.
  private plotCall = new AbortController();
  private featureCall = new AbortController();
  private listCall = new AbortController();

  constructor(private readonly plot: Plot) {
    pointForm.addEventListener("submit", (e) => {
      e.preventDefault();
      try {
        void this.lookUp({ latitude: read(pointForm, "latitude"), longitude: read(pointForm, "longitude") });
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        this.featureCall = renew(this.featureCall);
        featureResult.dataset.state = "invalid";
        featureResult.replaceChildren(inputErrorView(err));
      }
    });
    rectForm.addEventListener("submit", (e) => {
      e.preventDefault();
      let rect: Area;
      try {
        // Sent as typed: the server takes the corners in either order and
        // judges their range.
        rect = {
          lo: { latitude: read(rectForm, "lo-latitude"), longitude: read(rectForm, "lo-longitude") },
          hi: { latitude: read(rectForm, "hi-latitude"), longitude: read(rectForm, "hi-longitude") },
        };
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        this.listCall = renew(this.listCall);
        list.replaceChildren();
        listStatus.dataset.state = "invalid";
        listStatus.replaceChildren(inputErrorView(err));
        return;
      }
      plot.showArea(inRange(rect) ? ordered(rect) : undefined);
      void this.listArea(rect);
    });
  }

  // reset abandons the look-up and the rectangle query under way and
  // empties their answers.
  reset(): void {
    this.featureCall = renew(this.featureCall);
    this.listCall = renew(this.listCall);
    featureResult.dataset.state = "empty";
    featureResult.replaceChildren(h("p", {}, "Pick a point on the map, or look one up below."));
    list.replaceChildren();
    listStatus.dataset.state = "empty";
    listStatus.textContent = "Drag a rectangle on the map, or give one below.";
  }

  // loadPlot fills the plot with every feature, from one ListFeatures stream
  // over the whole world, counting them as they arrive.
  async loadPlot(): Promise<void> {
    const plot = this.plot;
    const call = (this.plotCall = renew(this.plotCall));
    plot.clear();
    count.dataset.state = "loading";
    count.setAttribute("aria-busy", "true");
    count.textContent = "Streaming features…";
    const started = performance.now();
    try {
      for await (const feature of clients.routeGuide.listFeatures(world, { signal: call.signal })) {
        plot.add(feature);
        count.textContent = `${plot.count} features so far…`;
      }
      const ms = Math.round(performance.now() - started);
      count.textContent = `${plot.count} features, streamed by one ListFeatures call over ${transportLabels[transport]} in ${ms} ms.`;
      count.dataset.state = "done";
    } catch (err) {
      if (call.signal.aborted) {
        return;
      }
      count.replaceChildren(`Stopped after ${plot.count} features: `, errorView(err));
      count.dataset.state = "error";
    } finally {
      if (!call.signal.aborted) {
        count.dataset.count = String(plot.count);
        count.setAttribute("aria-busy", "false");
      }
    }
  }

  // lookUp calls GetFeature for a point and shows the answer.
  async lookUp(point: LatLng): Promise<void> {
    const call = (this.featureCall = renew(this.featureCall));
    fill(pointForm, { latitude: point.latitude, longitude: point.longitude });
    featureResult.dataset.state = "loading";
    featureResult.replaceChildren(h("p", {}, `Looking up ${latLon(point.latitude, point.longitude)}…`));
    try {
      const feature = await clients.routeGuide.getFeature(point, { signal: call.signal });
      if (call.signal.aborted) {
        return;
      }
      showFeature(feature);
      this.plot.markSelected(feature.location);
    } catch (err) {
      if (call.signal.aborted) {
        return;
      }
      featureResult.dataset.state = "error";
      featureResult.replaceChildren(errorView(err), via("GetFeature"));
      this.plot.markSelected(undefined);
    }
  }

  // listArea streams the features inside a rectangle into the list and
  // highlights them on the plot as they arrive.
  async listArea(rect: Area): Promise<void> {
    const call = (this.listCall = renew(this.listCall));
    this.plot.clearHighlights();
    list.replaceChildren();
    listStatus.dataset.state = "loading";
    listStatus.setAttribute("aria-busy", "true");
    listStatus.textContent = "Streaming…";
    let n = 0;
    try {
      for await (const feature of clients.routeGuide.listFeatures(rect, { signal: call.signal })) {
        n++;
        list.append(this.listItem(feature));
        this.plot.highlight(feature);
        listStatus.textContent = `${n} so far…`;
      }
      listStatus.replaceChildren(
        `${n} ${n === 1 ? "feature" : "features"} in the rectangle.`,
        h("br"),
        via("ListFeatures"),
      );
      listStatus.dataset.state = "done";
    } catch (err) {
      if (call.signal.aborted) {
        return;
      }
      listStatus.replaceChildren(errorView(err), via("ListFeatures"));
      listStatus.dataset.state = "error";
    } finally {
      if (!call.signal.aborted) {
        listStatus.dataset.count = String(n);
        listStatus.setAttribute("aria-busy", "false");
      }
    }
  }

  private listItem(feature: Feature): HTMLLIElement {
    const loc = feature.location ?? { latitude: 0, longitude: 0 };
    const button = h("button", { type: "button", class: "link name" }, feature.name || "Unnamed point");
    button.addEventListener("click", () => void this.lookUp(loc));
    return h(
      "li",
      { "data-latitude": loc.latitude, "data-longitude": loc.longitude },
      button,
      " ",
      h("span", { class: "coords" }, latLon(loc.latitude, loc.longitude)),
    );
  }
}

function showFeature(feature: Feature): void {
  const loc = feature.location ?? { latitude: 0, longitude: 0 };
  featureResult.dataset.state = "done";
  featureResult.replaceChildren(
    h("p", { class: feature.name ? "name" : "name unnamed" }, feature.name || "No feature is known at this point."),
    h("p", { class: "coords" }, latLon(loc.latitude, loc.longitude), " ", h("span", { class: "e7" }, `(E7 ${loc.latitude}, ${loc.longitude})`)),
    via("GetFeature"),
  );
}
