// The consoles' one start-up: the language, the API client, the session, then the page.
import { createApp } from "vue";

import { makeApi } from "./api/client";
import App from "./App.vue";
import { CONTEXT } from "./context";
import { makeI18n, storedLocale } from "./i18n";
import { makeSession } from "./session";
import { Shortcuts } from "./shortcuts";
import "./style.css";

const session = makeSession(window.sessionStorage);
const api = makeApi(() => session.state.token);
const app = createApp(App);
app.use(makeI18n(storedLocale(window.localStorage)));
const shortcuts = new Shortcuts();
window.addEventListener("keydown", (event) => {
  if (shortcuts.handle(event)) event.preventDefault();
});
app.provide(CONTEXT, { api, session, shortcuts });
void session.resume(api).finally(() => app.mount("#app"));
// Installable, and opening again without the network (public/sw.js keeps the app's files).
if ("serviceWorker" in navigator) void navigator.serviceWorker.register("sw.js");
