// map.js -- the Leaflet map (Debian's libjs-leaflet, served at vendor/leaflet/): the enterprise's
// area, zones, stations and customers over a plain background, with a scale bar and the
// pointer's coordinates; a tile layer only when console_tile_url is set (config.json).
// Coordinates are WGS84, as the API gives them.

import * as L from './vendor/leaflet/leaflet.esm.js';
import { t } from './i18n.js';
import { h, textEl } from './util.js';

export { L };

const Coordinates = L.Control.extend({
  options: { position: 'bottomleft' },
  onAdd(map) {
    const el = h('div', { class: 'coords', id: 'map-coords' }, '');
    const show = (at) => {
      el.textContent = t('coords', at.lat.toFixed(5), at.lng.toFixed(5));
    };
    map.on('mousemove', (e) => show(e.latlng));
    map.on('moveend', () => show(map.getCenter())); // the centre until the pointer moves
    refreshCoords = () => el.textContent && show(map.getCenter()); // once the map has a view
    return el;
  },
});

let zoom = null;
let refreshCoords = () => {};

// The zoom buttons' titles are labels too: made again in the current language.
export function relabelMap(map) {
  if (zoom) zoom.remove();
  zoom = L.control.zoom({ zoomInTitle: t('zoom_in'), zoomOutTitle: t('zoom_out') }).addTo(map);
  refreshCoords();
}

export function createMap(el, config) {
  const map = L.map(el, {
    attributionControl: Boolean(config.tile_url),
    zoomControl: false,
    minZoom: 3,
    maxZoom: 19,
  });
  relabelMap(map);
  if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: 19 }).addTo(map);
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
  new Coordinates().addTo(map);
  map.setView([35, 105], 4); // China, until the enterprise's area is known
  return map;
}

// [lat, lng] rings of a GeoJSON Polygon.
function rings(shape) {
  if (!shape || shape.type !== 'Polygon') return [];
  return shape.coordinates.map((ring) => ring.map(([lon, lat]) => [lat, lon]));
}

// The enterprise's static layers; returns the layer group (remove it to redraw).
export function drawEnterprise(map, { enterprise, zones, stations, customers }) {
  const group = L.layerGroup().addTo(map);
  const area = rings(enterprise.area);
  if (area.length) {
    L.polygon(area, { className: 'lpg-area', interactive: false }).addTo(group);
    map.fitBounds(L.polygon(area).getBounds(), { padding: [10, 10] });
  }
  for (const z of zones) {
    L.polygon(rings(z.shape), { className: 'lpg-zone' })
      .bindTooltip(textEl(`${t('zone')}: ${z.name || z.id}`))
      .addTo(group);
  }
  for (const s of stations) {
    if (!s.center) continue;
    L.circle([s.center.lat, s.center.lon], { radius: s.radius_m || 100, className: 'lpg-station' })
      .bindTooltip(textEl(`${t('station')}: ${s.name || s.id}`))
      .addTo(group);
  }
  for (const c of customers) {
    if (!c.location) continue;
    L.circleMarker([c.location.lat, c.location.lon], { radius: 4, className: 'lpg-customer' })
      .bindTooltip(textEl(`${t('customer')}: ${c.name || c.id}`))
      .addTo(group);
  }
  return group;
}
