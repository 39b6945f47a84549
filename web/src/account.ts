// The account corner of the page's header: who is signed in, with buttons
// to sign in and out when the server offers it.

import type { Account } from "./auth";
import { byId, h } from "./dom";

const box = byId("account", HTMLDivElement);
const nameView = byId("account-name", HTMLSpanElement);
const signIn = byId("account-sign-in", HTMLButtonElement);
const signOut = byId("account-sign-out", HTMLButtonElement);

export function showAccount(account: Account): void {
  if (!account.signInOffered) {
    return; // the server verifies no tokens: everyone is anonymous
  }
  box.hidden = false;
  box.dataset.state = account.name === undefined ? "signed-out" : "signed-in";
  if (account.name === undefined) {
    nameView.textContent = account.writesNeedSignIn ? "Sign in to post notes." : "Not signed in.";
    signIn.hidden = false;
  } else {
    nameView.replaceChildren("Signed in as ", h("bdi", {}, account.name), account.moderator ? " (moderator)" : "");
    signOut.hidden = false;
  }
  signIn.addEventListener("click", () => void account.signIn());
  signOut.addEventListener("click", () => void account.signOut());
}
