// The transport the page calls the server over, as chosen in its form, and
// the clients for it. The clients are replaced when the choice changes, so
// callers read them afresh for each call.

import { accessToken } from "./auth";
import { isTransportName, newClients, type Clients, type SentRequest, type TransportName } from "./client";
import { byId } from "./dom";

const transportForm = byId("transport", HTMLFormElement);

// sent holds the last request of each method, to show how a call went over
// the wire.
export const sent = new Map<string, SentRequest>();
export let transport: TransportName = checkedTransport();
export let clients: Clients = newClients(transport, remember, accessToken);

function remember(r: SentRequest): void {
  const url = new URL(r.url);
  sent.set(url.pathname.split("/").pop() ?? "", { method: r.method, url: url.pathname + url.search });
}

function checkedTransport(): TransportName {
  const value = new FormData(transportForm).get("transport");
  return typeof value === "string" && isTransportName(value) ? value : "grpc-web";
}

// onTransportChange calls changed once the clients of a newly chosen
// transport are in place.
export function onTransportChange(changed: () => void): void {
  transportForm.addEventListener("change", () => {
    transport = checkedTransport();
    clients = newClients(transport, remember, accessToken);
    sent.clear();
    changed();
  });
}
