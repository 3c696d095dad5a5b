// Who is signed in on this tab: the session token lives in sessionStorage, so that closing the
// tab ends it here and another tab signs in on its own.
import { reactive } from "vue";

import { answer, type Api } from "./api/client";
import type { components } from "./api/schema";

export type Login = components["schemas"]["LoginOut"];
export type Me = components["schemas"]["MeOut"];

const KEY = "cad.session";

export interface Session {
  token: string | null;
  me: Me | null;
  step: string | null;
}

export function makeSession(storage: Storage) {
  const state = reactive<Session>({ token: storage.getItem(KEY), me: null, step: null });

  function keep(token: string | null): void {
    state.token = token;
    if (token === null) storage.removeItem(KEY);
    else storage.setItem(KEY, token);
  }

  return {
    state,
    async signIn(api: Api, username: string, password: string, totp: string): Promise<Login> {
      const login = await answer(
        api.POST("/api/v1/auth/login", { body: { username, password, totp: totp || null } }),
      );
      keep(login.token);
      state.step = login.limited_to ?? null;
      state.me = await answer(api.GET("/api/v1/auth/me"));
      return login;
    },
    /** A unit terminal starts with its device token instead of a password. */
    async useToken(api: Api, token: string): Promise<void> {
      keep(token);
      try {
        state.me = await answer(api.GET("/api/v1/auth/me"));
        state.step = null;
      } catch (error) {
        keep(null);
        throw error;
      }
    },
    async resume(api: Api): Promise<void> {
      if (state.token === null) return;
      try {
        state.me = await answer(api.GET("/api/v1/auth/me"));
        state.step = state.me.limited_to ?? null;
      } catch {
        keep(null);
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
