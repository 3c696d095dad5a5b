// The console's map: the offline basemap served by the app (vector tiles from PostGIS) with the
// address candidates on it. Loaded as a module; the rest of the console works without it.
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";

let map = null;
let token = null;
const markers = [];

async function open({ region, token: signedIn }) {
  token = signedIn;
  if (map) return;
  const headers = { Authorization: `Bearer ${token}` };
  const info = await fetch(`/api/v1/gis/regions/${encodeURIComponent(region)}`, { headers }).then((r) => r.json());
  map = new maplibregl.Map({
    container: "map",
    style: `${location.origin}/api/v1/gis/style.json`,
    bounds: info.bbox,
    // Tiles and the style come from this app and need the token; nothing else is fetched.
    transformRequest: (url) => {
      const absolute = new URL(url, location.href);
      return absolute.origin === location.origin
        ? { url: absolute.href, headers: { Authorization: `Bearer ${token}` } }
        : { url };
    },
  });
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.once("idle", () => { document.querySelector("#map").dataset.ready = "true"; });
}

function showCandidates(candidates) {
  if (!map) return;
  markers.splice(0).forEach((m) => m.remove());
  candidates.forEach((c, i) => {
    const marker = new maplibregl.Marker({ color: i === 0 ? "#b3261e" : "#607d8b" })
      .setLngLat([c.lon, c.lat])
      .setPopup(new maplibregl.Popup().setText(c.label))
      .addTo(map);
    markers.push(marker);
  });
  if (candidates.length) map.flyTo({ center: [candidates[0].lon, candidates[0].lat], zoom: 16 });
}

document.addEventListener("cad:signed-in", (e) => open(e.detail).catch((error) => console.error(error)));
document.addEventListener("cad:candidates", (e) => showCandidates(e.detail));
