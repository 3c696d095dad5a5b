// The app's own basemap in a MapLibre map: the style and tiles come from this app with the
// session's token (nothing else is fetched), names in the screen's language, drawn at once.
import * as maplibregl from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";

/** "zh" or "en": the language the map's place names are drawn in, for a console locale. */
export function namesLanguage(locale: string): string {
  return locale.startsWith("zh") ? "zh" : "en";
}

export interface BasemapOptions {
  container: HTMLElement;
  token: () => string | null;
  locale: string;
  bounds?: [number, number, number, number];
  center?: [number, number];
  zoom?: number;
}

export function basemap(options: BasemapOptions): maplibregl.Map {
  // The map's worker is one of the app's own files (bundled beside the page), not a blob of a CDN.
  maplibregl.setWorkerUrl(workerUrl);
  const map = new maplibregl.Map({
    container: options.container,
    style: `${window.location.origin}/api/v1/gis/style.json`,
    ...(options.bounds ? { bounds: options.bounds } : { center: options.center, zoom: options.zoom ?? 14 }),
    globalState: { lang: namesLanguage(options.locale) },
    // names appear at once where they fit, no fading in as the map moves
    fadeDuration: 0,
    transformRequest: (url: string) => {
      const absolute = new URL(url, window.location.href);
      return absolute.origin === window.location.origin
        ? { url: absolute.href, headers: { Authorization: `Bearer ${options.token() ?? ""}` } }
        : { url };
    },
  });
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  return map;
}

/** Resolves once the map's style has loaded (sources and layers may then be added). */
export function styled(map: maplibregl.Map): Promise<void> {
  return map.isStyleLoaded() ? Promise.resolve() : new Promise((resolve) => map.once("load", () => resolve()));
}
