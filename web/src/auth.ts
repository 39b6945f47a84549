// Signing in: the page learns from its server which OpenID provider to sign
// in with, signs the user in there with the authorization code flow and
// PKCE (oidc-client-ts), and keeps the tokens in sessionStorage, so that
// they last as long as the tab and no longer.

import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";

// AuthConfig is what GET /auth-config.json answers: no issuer when the
// server verifies no tokens.
interface AuthConfig {
  issuer?: string;
  clientId?: string;
  writes: "anyone" | "signed-in";
}

// Account is the user of the page as far as the server can tell.
export interface Account {
  // signInOffered says the server has an OpenID provider to sign in with.
  signInOffered: boolean;
  // writesNeedSignIn says the server takes notes only from signed-in users.
  writesNeedSignIn: boolean;
  // name is the signed-in user's name, undefined for anyone else.
  name?: string;
  // moderator says the user may delete notes.
  moderator: boolean;
  signIn(): Promise<void>;
  signOut(): Promise<void>;
}

let manager: UserManager | undefined;
let user: User | null = null;

// accessToken returns the token to send with writes, if the user is signed
// in and it has not expired.
export function accessToken(): string | undefined {
  return user && !user.expired ? user.access_token : undefined;
}

// loadAccount reads the server's sign-in settings and the user signed in
// in this tab, finishing a sign-in if the provider has just sent the
// browser back with a code.
export async function loadAccount(): Promise<Account> {
  let config: AuthConfig = { writes: "anyone" };
  try {
    const res = await fetch("/auth-config.json");
    if (res.ok) config = (await res.json()) as AuthConfig;
  } catch {
    // An older server has no such file: it offers no sign-in.
  }
  if (config.issuer && config.clientId) {
    const store = new WebStorageStateStore({ store: sessionStorage });
    manager = new UserManager({
      authority: config.issuer,
      client_id: config.clientId,
      // The page itself, whatever its query: the provider must have it
      // registered exactly.
      redirect_uri: location.origin + "/",
      response_type: "code",
      scope: "openid profile",
      userStore: store,
      stateStore: store,
      // devidp and many providers have no refresh tokens for public
      // clients: the user signs in again when the token expires.
      automaticSilentRenew: false,
    });
    const params = new URLSearchParams(location.search);
    if (params.has("code") && params.has("state")) {
      try {
        user = await manager.signinRedirectCallback();
      } catch (err) {
        console.error("sign-in failed:", err);
      }
      // The code is single-use: a reload must not send it again.
      history.replaceState(null, "", location.pathname);
    } else {
      user = await manager.getUser();
    }
  }
  const roles = user?.profile["roles"];
  return {
    signInOffered: manager !== undefined,
    writesNeedSignIn: config.writes === "signed-in",
    name: user && !user.expired ? (user.profile.name ?? user.profile.preferred_username ?? user.profile.sub) : undefined,
    moderator: !!user && !user.expired && Array.isArray(roles) && roles.includes("moderator"),
    signIn: async () => {
      await manager?.signinRedirect();
    },
    signOut: async () => {
      // Forgets the tokens in this tab. The provider keeps no session for
      // the page to end.
      await manager?.removeUser();
      user = null;
      location.reload();
    },
  };
}
