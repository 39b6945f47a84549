// The RouteGuide page: every feature on a plot, point look-ups, rectangle
// queries and live notes, all called from the browser with gRPC-Web or
// Connect against the server that served the page.

import { timestampDate } from "@bufbuild/protobuf/wkt";

import {
  describeError,
  isTransportName,
  newClients,
  transportLabels,
  type Clients,
  type SentRequest,
  type TransportName,
} from "./client";
import { InputError, degrees, latLon, parseE7, world } from "./coords";
import { byId, h } from "./dom";
import type { WatchNotesResponse } from "./gen/routeguide/notes/v1/notes_pb";
import type { Feature, RouteNote } from "./gen/routeguide/route_guide_pb";
import { NotesFeed, type FeedState } from "./notes";
import { Plot, type Area, type LatLng } from "./plot";

const transportForm = byId("transport", HTMLFormElement);
const count = byId("count", HTMLParagraphElement);
const featureResult = byId("feature-result", HTMLDivElement);
const pointForm = byId("point-form", HTMLFormElement);
const rectForm = byId("rect-form", HTMLFormElement);
const listStatus = byId("list-status", HTMLParagraphElement);
const list = byId("list", HTMLOListElement);
const noteForm = byId("note-form", HTMLFormElement);
const noteResult = byId("note-result", HTMLDivElement);
const notesStatus = byId("notes-status", HTMLParagraphElement);
const notesList = byId("notes", HTMLOListElement);

// sent holds the last request of each method, to show how a call went over
// the wire.
const sent = new Map<string, SentRequest>();
let transport: TransportName = checkedTransport();
let clients: Clients = newClients(transport, remember);

const plot = new Plot(byId("plot", SVGSVGElement), {
  select: (feature) => void lookUp(feature.location ?? { latitude: 0, longitude: 0 }),
  pick: (point) => {
    fill(noteForm, { latitude: point.latitude, longitude: point.longitude });
    plot.showPick(point);
  },
  area: (area) => {
    fill(rectForm, {
      "lo-latitude": area.lo.latitude,
      "lo-longitude": area.lo.longitude,
      "hi-latitude": area.hi.latitude,
      "hi-longitude": area.hi.longitude,
    });
    void listArea(area);
  },
});

function remember(r: SentRequest): void {
  const url = new URL(r.url);
  sent.set(url.pathname.split("/").pop() ?? "", { method: r.method, url: url.pathname + url.search });
}

function checkedTransport(): TransportName {
  const value = new FormData(transportForm).get("transport");
  return typeof value === "string" && isTransportName(value) ? value : "grpc-web";
}

// Each kind of call has a controller, so that a new call abandons the one it
// replaces and stale answers never overwrite fresh ones.
let plotCall = new AbortController();
let featureCall = new AbortController();
let listCall = new AbortController();

function renew(c: AbortController): AbortController {
  c.abort();
  return new AbortController();
}

// loadPlot fills the plot with every feature, from one ListFeatures stream
// over the whole world, counting them as they arrive.
async function loadPlot(): Promise<void> {
  const call = (plotCall = renew(plotCall));
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
async function lookUp(point: LatLng): Promise<void> {
  const call = (featureCall = renew(featureCall));
  fill(pointForm, { latitude: point.latitude, longitude: point.longitude });
  featureResult.dataset.state = "loading";
  featureResult.replaceChildren(h("p", {}, `Looking up ${latLon(point.latitude, point.longitude)}…`));
  try {
    const feature = await clients.routeGuide.getFeature(point, { signal: call.signal });
    if (call.signal.aborted) {
      return;
    }
    showFeature(feature);
    plot.markSelected(feature.location);
  } catch (err) {
    if (call.signal.aborted) {
      return;
    }
    featureResult.dataset.state = "error";
    featureResult.replaceChildren(errorView(err), via("GetFeature"));
    plot.markSelected(undefined);
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

// listArea streams the features inside a rectangle into the list and
// highlights them on the plot as they arrive.
async function listArea(rect: Area): Promise<void> {
  const call = (listCall = renew(listCall));
  plot.clearHighlights();
  list.replaceChildren();
  listStatus.dataset.state = "loading";
  listStatus.setAttribute("aria-busy", "true");
  listStatus.textContent = "Streaming…";
  let n = 0;
  try {
    for await (const feature of clients.routeGuide.listFeatures(rect, { signal: call.signal })) {
      n++;
      list.append(listItem(feature));
      plot.highlight(feature);
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

function listItem(feature: Feature): HTMLLIElement {
  const loc = feature.location ?? { latitude: 0, longitude: 0 };
  const button = h("button", { type: "button", class: "link name" }, feature.name || "Unnamed point");
  button.addEventListener("click", () => void lookUp(loc));
  return h(
    "li",
    { "data-latitude": loc.latitude, "data-longitude": loc.longitude },
    button,
    " ",
    h("span", { class: "coords" }, latLon(loc.latitude, loc.longitude)),
  );
}

// The notes list shows the newest notes first, and no more than this many:
// the map keeps counting them all.
const notesShown = 100;
let notesSeen = 0;

const feed = new NotesFeed({
  note: showNote,
  state: showFeedState,
});

function showNote(n: WatchNotesResponse): void {
  const loc = n.note?.location ?? { latitude: 0, longitude: 0 };
  const message = n.note?.message ?? "";
  notesSeen++;
  plot.addNote(loc, message);
  const posted = n.postedTime ? timestampDate(n.postedTime) : undefined;
  notesList.prepend(
    h(
      "li",
      { "data-sequence": String(n.sequence), "data-latitude": loc.latitude, "data-longitude": loc.longitude },
      h("span", { class: "message" }, message),
      " ",
      h("span", { class: "coords" }, latLon(loc.latitude, loc.longitude)),
      ...(posted
        ? [" ", h("time", { datetime: posted.toISOString(), title: posted.toString() }, posted.toLocaleTimeString())]
        : []),
    ),
  );
  while (notesList.children.length > notesShown) {
    notesList.lastElementChild?.remove();
  }
  notesStatus.dataset.count = String(notesSeen);
  if (notesStatus.dataset.state === "live") {
    showFeedState("live");
  }
}

function showFeedState(state: FeedState, err?: unknown, retryInMs?: number): void {
  notesStatus.dataset.state = state;
  notesStatus.setAttribute("aria-busy", String(state === "connecting"));
  const over = `over ${transportLabels[transport]}`;
  const seen = `${notesSeen} ${notesSeen === 1 ? "note" : "notes"} so far`;
  switch (state) {
    case "connecting":
      notesStatus.textContent = `Opening the feed (WatchNotes ${over})…`;
      break;
    case "live":
      notesStatus.textContent = `Live: every note posted anywhere shows up here, from one WatchNotes stream ${over}; ${seen}.`;
      break;
    case "retrying":
      notesStatus.replaceChildren(
        "The feed stopped: ",
        errorView(err),
        ` Trying again in ${Math.round((retryInMs ?? 0) / 1000)} s, from the last note received.`,
      );
      break;
    case "off":
      notesStatus.replaceChildren("This server has no live notes: ", errorView(err));
      break;
  }
}

// startNotes shows the notes afresh, from a new feed over the transport of
// the moment: the server replays those it keeps, then new ones follow.
function startNotes(): void {
  notesSeen = 0;
  notesStatus.dataset.count = "0";
  notesList.replaceChildren();
  plot.clearNotes();
  feed.start(clients.notes);
}

let noteCall = new AbortController();

// postNote posts a note with PostNote and shows the notes at its location
// that the server answers with. The feed puts it on the map.
async function postNote(note: { location: LatLng; message: string }): Promise<void> {
  const call = (noteCall = renew(noteCall));
  noteResult.dataset.state = "loading";
  noteResult.replaceChildren(h("p", {}, `Posting at ${latLon(note.location.latitude, note.location.longitude)}…`));
  try {
    const res = await clients.notes.postNote({ note }, { signal: call.signal });
    if (call.signal.aborted) {
      return;
    }
    const n = res.notes.length;
    noteResult.dataset.state = "done";
    noteResult.dataset.count = String(n);
    noteResult.replaceChildren(
      h("p", {}, n === 1 ? "Posted, the first note at this point." : `Posted. The ${n} notes at this point, oldest first:`),
      h("ol", { class: "replies" }, ...res.notes.map((r: RouteNote) => h("li", {}, r.message))),
      via("PostNote"),
    );
  } catch (err) {
    if (call.signal.aborted) {
      return;
    }
    noteResult.dataset.state = "error";
    noteResult.replaceChildren(errorView(err), via("PostNote"));
  }
}

// errorView shows a failed call as the server reported it: its code, as the
// Connect protocol spells it, and its message.
function errorView(err: unknown): HTMLElement {
  const { code, message } = describeError(err);
  return h("span", { class: "error" }, h("code", { class: "code" }, code), " ", h("span", { class: "message" }, message));
}

function inputErrorView(err: InputError): HTMLElement {
  return h("span", { class: "error" }, h("span", { class: "message" }, `${err.message} (not sent)`));
}

// via says how the last call of a method went: transport, HTTP method and
// path, so that Connect GET can be seen at work.
function via(method: string): HTMLElement {
  const r = sent.get(method);
  const text = r ? `${method} over ${transportLabels[transport]}: ${r.method} ${r.url}` : `${method} over ${transportLabels[transport]}`;
  return h("small", { class: "via" }, text);
}

function fill(form: HTMLFormElement, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    const input = form.elements.namedItem(name);
    if (input instanceof HTMLInputElement) {
      input.value = String(value);
      showDegrees(input);
    }
  }
}

function read(form: HTMLFormElement, name: string): number {
  const input = form.elements.namedItem(name);
  const label = input instanceof HTMLInputElement ? (input.labels?.[0]?.textContent ?? name) : name;
  return parseE7(label.trim(), input instanceof HTMLInputElement ? input.value : "");
}

// showDegrees writes the value of an E7 field in degrees beside it.
function showDegrees(input: HTMLInputElement): void {
  const out = document.querySelector(`output[for="${input.id}"]`);
  if (!out) {
    return;
  }
  try {
    out.textContent = `= ${degrees(parseE7("", input.value))}`;
  } catch {
    out.textContent = "";
  }
}

noteForm.addEventListener("submit", (e) => {
  e.preventDefault();
  let location: LatLng;
  try {
    location = { latitude: read(noteForm, "latitude"), longitude: read(noteForm, "longitude") };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    noteCall = renew(noteCall);
    noteResult.dataset.state = "invalid";
    noteResult.replaceChildren(inputErrorView(err));
    return;
  }
  const input = noteForm.elements.namedItem("message");
  const message = input instanceof HTMLInputElement ? input.value : "";
  plot.showPick(inRange({ lo: location, hi: location }) ? location : undefined);
  void postNote({ location, message });
});

pointForm.addEventListener("submit", (e) => {
  e.preventDefault();
  try {
    void lookUp({ latitude: read(pointForm, "latitude"), longitude: read(pointForm, "longitude") });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    featureCall = renew(featureCall);
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
    listCall = renew(listCall);
    list.replaceChildren();
    listStatus.dataset.state = "invalid";
    listStatus.replaceChildren(inputErrorView(err));
    return;
  }
  plot.showArea(inRange(rect) ? ordered(rect) : undefined);
  void listArea(rect);
});

for (const form of [pointForm, rectForm, noteForm]) {
  form.addEventListener("input", (e) => {
    if (e.target instanceof HTMLInputElement) showDegrees(e.target);
  });
  for (const input of form.querySelectorAll("input")) showDegrees(input);
}

function inRange(r: Area): boolean {
  return [r.lo, r.hi].every((p) => Math.abs(p.latitude) <= 90e7 && Math.abs(p.longitude) <= 180e7);
}

function ordered(r: Area): Area {
  return {
    lo: { latitude: Math.min(r.lo.latitude, r.hi.latitude), longitude: Math.min(r.lo.longitude, r.hi.longitude) },
    hi: { latitude: Math.max(r.lo.latitude, r.hi.latitude), longitude: Math.max(r.lo.longitude, r.hi.longitude) },
  };
}

transportForm.addEventListener("change", () => {
  transport = checkedTransport();
  clients = newClients(transport, remember);
  sent.clear();
  // Start over, so that everything shown came over the chosen transport.
  featureCall = renew(featureCall);
  listCall = renew(listCall);
  noteCall = renew(noteCall);
  noteResult.dataset.state = "empty";
  noteResult.replaceChildren(h("p", {}, "Click the map where the note goes, write it and post it."));
  featureResult.dataset.state = "empty";
  featureResult.replaceChildren(h("p", {}, "Pick a point on the map, or look one up below."));
  list.replaceChildren();
  listStatus.dataset.state = "empty";
  listStatus.textContent = "Drag a rectangle on the map, or give one below.";
  void loadPlot();
  startNotes();
});

// The commands in the note name the server the page came from.
const tls = location.protocol === "https:";
for (const el of document.querySelectorAll("[data-host]")) {
  el.textContent = location.host;
}
for (const el of document.querySelectorAll("[data-addr]")) {
  el.textContent = tls ? location.origin : location.host;
}
for (const el of document.querySelectorAll("[data-plaintext]")) {
  if (tls) el.remove();
}

void loadPlot();
startNotes();
