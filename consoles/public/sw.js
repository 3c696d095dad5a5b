// The consoles' offline shell. A field terminal on a flaky mobile link must open again without
// the network: every file of the app it has fetched is kept, and served when the network is
// gone. The network comes first, so that a new build is taken as soon as it can be. The API
// and the websockets are never kept here: what the terminal sends while offline waits in its
// own queue and goes out on reconnect.
const SHELL = "cad-shell";

self.addEventListener("install", (event) => {
  self.skipWaiting();
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(["./", "manifest.webmanifest", "icon.svg"])));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const scope = new URL(self.registration.scope);
  if (event.request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          void caches.open(SHELL).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(async () => (await caches.match(event.request)) ?? (await caches.match(scope.pathname)) ?? Response.error()),
  );
});
