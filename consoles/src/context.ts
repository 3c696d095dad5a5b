// What main.ts builds once and hands down to every screen: the API client, the session and
// the keyboard shortcuts.
import { inject, onMounted, onUnmounted, type InjectionKey } from "vue";

import type { Api } from "./api/client";
import type { FeedEvent, FeedListeners } from "./live";
import type { SessionStore } from "./session";
import type { Shortcuts } from "./shortcuts";

export interface Context {
  api: Api;
  session: SessionStore;
  shortcuts: Shortcuts;
}

export const CONTEXT: InjectionKey<Context> = Symbol("cad.context");

/** Where the shell hands the live feed's events to its panels. */
export const FEED_EVENTS: InjectionKey<FeedListeners> = Symbol("cad.feedEvents");

export function useContext(): Context {
  const context = inject(CONTEXT);
  if (context === undefined) throw new Error("the consoles' context was not provided");
  return context;
}

/** ``handler`` runs on the shortcut of ``action`` while the calling screen is shown. */
export function useShortcut(action: string, handler: () => void): void {
  const { shortcuts } = useContext();
  let off: (() => void) | null = null;
  onMounted(() => (off = shortcuts.on(action, handler)));
  onUnmounted(() => off?.());
}

/** ``listener`` hears each event of the live feed while the calling panel is shown. */
export function useFeedEvents(listener: (event: FeedEvent) => void): void {
  const events = inject(FEED_EVENTS);
  if (events === undefined) throw new Error("the live feed's events were not provided");
  let off: (() => void) | null = null;
  onMounted(() => (off = events.on(listener)));
  onUnmounted(() => off?.());
}
