// Who is signed in on this tab: the session token lives in sessionStorage, so that closing the
// tab ends it here and another tab signs in on its own.
import { reactive } from "vue";

import { answer, ApiProblem, type Api } from "./api/client";
import type { components } from "./api/schema";

export type Login = components["schemas"]["LoginOut"];
export type Me = components["schemas"]["MeOut"];

const KEY = "cad.session";
// who the token belongs to, so that a terminal opened again without the network knows itself
const ME = "cad.session.me";

export interface Session {
  token: string | null;
  me: Me | null;
  step: string | null;
}

export function makeSession(storage: Storage) {
  const state = reactive<Session>({ token: storage.getItem(KEY), me: null, step: null });

  function keep(token: string | null): void {
    state.token = token;
    if (token === null) {
      storage.removeItem(KEY);
      storage.removeItem(ME);
    } else storage.setItem(KEY, token);
  }

  function known(me: Me): Me {
    storage.setItem(ME, JSON.stringify(me));
    return me;
  }

  return {
    state,
    async signIn(api: Api, username: string, password: string, totp: string): Promise<Login> {
      const login = await answer(
        api.POST("/api/v1/auth/login", { body: { username, password, totp: totp || null } }),
      );
      keep(login.token);
      state.step = login.limited_to ?? null;
      state.me = known(await answer(api.GET("/api/v1/auth/me")));
      return login;
    },
    /** A unit terminal starts with its device token instead of a password. */
    async useToken(api: Api, token: string): Promise<void> {
      keep(token);
      try {
        state.me = known(await answer(api.GET("/api/v1/auth/me")));
        state.step = null;
      } catch (error) {
        keep(null);
        throw error;
      }
    },
    async resume(api: Api): Promise<void> {
      if (state.token === null) return;
      try {
        state.me = known(await answer(api.GET("/api/v1/auth/me")));
        state.step = state.me.limited_to ?? null;
      } catch (error) {
        // Unreachable: the one it was, until the server can say otherwise. Refused: signed out.
        const last = storage.getItem(ME);
        if (error instanceof ApiProblem && error.status === 0 && last !== null) state.me = JSON.parse(last) as Me;
        else keep(null);
      }
    },
    async signOut(api: Api): Promise<void> {
      try {
        await answer(api.POST("/api/v1/auth/logout"));
      } finally {
        keep(null);
        state.me = null;
        state.step = null;
      }
    },
    forget(): void {
      keep(null);
      state.me = null;
      state.step = null;
    },
  };
}

export type SessionStore = ReturnType<typeof makeSession>;
