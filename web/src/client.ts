// The clients of the page, RouteGuide and NotesService, over the transport
// the user picks.

import { ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";

import { NotesService } from "./gen/routeguide/notes/v1/notes_pb";
import { RouteGuide } from "./gen/routeguide/route_guide_pb";

export type RouteGuideClient = Client<typeof RouteGuide>;
export type NotesClient = Client<typeof NotesService>;

// Clients are the page's clients of both services, sharing one transport.
export interface Clients {
  routeGuide: RouteGuideClient;
  notes: NotesClient;
}

// TransportName names a choice of the transport switch, as its radio
// buttons' values spell it.
export type TransportName = "grpc-web" | "connect-json" | "connect-binary";

export const transportLabels: Record<TransportName, string> = {
  "grpc-web": "gRPC-Web",
  "connect-json": "Connect JSON",
  "connect-binary": "Connect binary",
};

export function isTransportName(s: string): s is TransportName {
  return Object.hasOwn(transportLabels, s);
}

// SentRequest is what the page shows of the HTTP request behind a call, so
// that the user can see which protocol and method went over the wire.
export interface SentRequest {
  method: string;
  url: string;
}

// writes are the methods that change the notes, which a server may take
// only from signed-in users; reads never carry the token.
const writes = new Set(["PostNote", "RouteChat", "DeleteNote"]);

// bearer sends the token that token returns, if any, with every write.
function bearer(token: () => string | undefined): Interceptor {
  return (next) => (req) => {
    const t = writes.has(req.method.name) ? token() : undefined;
    if (t) req.header.set("Authorization", `Bearer ${t}`);
    return next(req);
  };
}

// newClients returns clients of the server that served the page. Connect
// transports send GetFeature, which has no side effects, as an HTTP GET so
// that caches may keep it; gRPC-Web has no such form. onRequest is told of
// every request as it is sent; token gives the access token writes carry.
export function newClients(
  name: TransportName,
  onRequest: (r: SentRequest) => void,
  token: () => string | undefined,
): Clients {
  const transport = newTransport(name, onRequest, [bearer(token)]);
  return { routeGuide: createClient(RouteGuide, transport), notes: createClient(NotesService, transport) };
}

function newTransport(name: TransportName, onRequest: (r: SentRequest) => void, interceptors: Interceptor[]): Transport {
  // The transports decide on GET only after interceptors have run, so the
  // request is watched at fetch, where its final form is known.
  const watchedFetch: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    onRequest({ method: init?.method ?? "GET", url });
    return globalThis.fetch(input, init);
  };
  const baseUrl = location.origin;
  switch (name) {
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, fetch: watchedFetch, interceptors });
    case "connect-json":
      return createConnectTransport({ baseUrl, fetch: watchedFetch, interceptors, useHttpGet: true });
    case "connect-binary":
      return createConnectTransport({ baseUrl, fetch: watchedFetch, interceptors, useHttpGet: true, useBinaryFormat: true });
  }
}

// CallError is a failed call as the page shows it: the code as the Connect
// protocol spells it (invalid_argument, not_found, ...) and the server's
// message without the code in front.
export interface CallError {
  code: string;
  message: string;
}

export function describeError(err: unknown): CallError {
  const e = ConnectError.from(err);
  return { code: codeToString(e.code), message: e.rawMessage };
}
