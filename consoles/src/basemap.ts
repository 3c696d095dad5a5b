// The app's own basemap in a MapLibre map: the style and tiles come from this app with the
// session's token (nothing else is fetched), names in the screen's language, drawn at once.
import type { GeoJSON } from "geojson";
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

/** A map of the app's basemap; ``styled`` resolves once its style has loaded (our sources and
 *  layers may then be added; ``isStyleLoaded`` is false again whenever tiles load). */
export class Basemap extends maplibregl.Map {
  readonly styled: Promise<void>;

  constructor(options: BasemapOptions) {
    super({
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
    this.styled = new Promise((resolve) => this.once("load", () => resolve()));
    this.addControl(new maplibregl.NavigationControl(), "top-right");
  }
}

export function basemap(options: BasemapOptions): Basemap {
  // The map's worker is one of the app's own files (bundled beside the page), not a blob of a CDN.
  maplibregl.setWorkerUrl(workerUrl);
  return new Basemap(options);
}

/** A layer drawn from one of our own sources (the source is given by :func:`show`). */
export type OwnLayer = Omit<maplibregl.LayerSpecification & { source?: unknown }, "source">;

/** Show ``data`` in the map's source ``id``: made with its ``layers`` the first time, its data
 *  replaced after that. Waits for the style. */
export async function show(map: Basemap, id: string, data: GeoJSON, layers: OwnLayer[]): Promise<void> {
  await map.styled;
  const source = map.getSource(id) as maplibregl.GeoJSONSource | undefined;
  if (source !== undefined) {
    source.setData(data);
    return;
  }
  map.addSource(id, { type: "geojson", data });
  for (const layer of layers) map.addLayer({ ...layer, source: id } as maplibregl.LayerSpecification);
}
