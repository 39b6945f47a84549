// How the page makes calls and shows how they went: abandoning a call that
// a newer one replaces, errors as the server reported them, and the wire
// form of the last request.

import { describeError, transportLabels } from "./client";
import type { InputError } from "./coords";
import { h } from "./dom";
import { sent, transport } from "./transport";

// renew abandons a call and gives the controller of the one that replaces
// it, so that stale answers never overwrite fresh ones.
export function renew(c: AbortController): AbortController {
  c.abort();
  return new AbortController();
}

// errorView shows a failed call as the server reported it: its code, as the
// Connect protocol spells it, and its message.
export function errorView(err: unknown): HTMLElement {
  const { code, message } = describeError(err);
  return h("span", { class: "error" }, h("code", { class: "code" }, code), " ", h("span", { class: "message" }, message));
}

export function inputErrorView(err: InputError): HTMLElement {
  return h("span", { class: "error" }, h("span", { class: "message" }, `${err.message} (not sent)`));
}

// via says how the last call of a method went: transport, HTTP method and
// path, so that Connect GET can be seen at work.
export function via(method: string): HTMLElement {
  const r = sent.get(method);
  const text = r ? `${method} over ${transportLabels[transport]}: ${r.method} ${r.url}` : `${method} over ${transportLabels[transport]}`;
  return h("small", { class: "via" }, text);
}
