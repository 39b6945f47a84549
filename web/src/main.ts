// The RouteGuide page: every feature on a plot, point look-ups, rectangle
// queries and live notes, all called from the browser with gRPC-Web or
// Connect against the server that served the page. This module wires the
// parts together and starts them.

import { loadAccount } from "./auth";
import { showAccount } from "./account";
import { byId } from "./dom";
import { Features, pointForm, rectForm } from "./features";
import { fill, showDegreesAsTyped } from "./forms";
import { LiveNotes, noteForm } from "./livenotes";
import { Plot } from "./plot";
import { onTransportChange } from "./transport";

const plot = new Plot(byId("plot", SVGSVGElement), {
  select: (feature) => void features.lookUp(feature.location ?? { latitude: 0, longitude: 0 }),
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
    void features.listArea(area);
  },
});
const features = new Features(plot);
// The account first: a sign-in that has just come back finishes here, and
// the notes need to know who may post and delete.
const account = await loadAccount();
showAccount(account);
const notes = new LiveNotes(plot, account);

showDegreesAsTyped([pointForm, rectForm, noteForm]);

onTransportChange(() => {
  // Start over, so that everything shown came over the chosen transport.
  features.reset();
  notes.reset();
  void features.loadPlot();
  notes.start();
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

void features.loadPlot();
notes.reset();
notes.start();
