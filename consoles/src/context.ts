// What main.ts builds once and hands down to every screen: the API client and the session.
import { inject, type InjectionKey } from "vue";

import type { Api } from "./api/client";
import type { SessionStore } from "./session";

export interface Context {
  api: Api;
  session: SessionStore;
}

export const CONTEXT: InjectionKey<Context> = Symbol("cad.context");

export function useContext(): Context {
  const context = inject(CONTEXT);
  if (context === undefined) throw new Error("the consoles' context was not provided");
  return context;
}
