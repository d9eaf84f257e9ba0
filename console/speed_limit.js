// speed_limit.js -- the overspeed limit that applied at a fix, as the server computes it, for
// the replay's limit line. It mirrors, and must stay the same as:
//   - geo_polygon_contains / geo_multipolygon_contains (geo/geo_polygon.c): even-odd ray
//     casting in plain lon/lat; a point within 1e-9 degree of an edge is on the boundary, and
//     the boundary (a hole's too) belongs to the zone;
//   - ingest_limit_at (dispatch/app/ingest.c): the enterprise's zones containing the fix, at
//     most the first 16 by ascending id;
//   - rules_ctx_zones_at (dispatch/core/rules.c): any expressway zone among them makes it an
//     expressway fix, and then only the expressway zones' speed_limit_kmh count; otherwise the
//     lowest speed_limit_kmh of the zones; 0 is "no limit of its own";
//   - rules_speed_limit_kmh (dispatch/core/rules.c): the road-class default (config.json's
//     speed_limit_road_kmh or speed_limit_expressway_kmh), lowered by the zones' limit, lowered
//     by the vehicle's own speed_limit_kmh (0: none).
// The zones are today's: a zone changed since the day replayed draws the limit it has now.

const TOL = 1e-9; // GEO_BOUNDARY_TOL_DEG
const ZONES_MAX = 16; // INGEST_LIMIT_ZONES_MAX
export const ROAD_DEFAULT_KMH = 60; // LEGAL_ROAD_LIMIT_KMH, when config.json does not say
export const EXPRESSWAY_DEFAULT_KMH = 80; // LEGAL_EXPRESSWAY_LIMIT_KMH

function nearSegment(lon, lat, a, b) {
  const [alon, alat] = a;
  const [blon, blat] = b;
  if (lon < Math.min(alon, blon) - TOL || lon > Math.max(alon, blon) + TOL || lat < Math.min(alat, blat) - TOL || lat > Math.max(alat, blat) + TOL) return false;
  const dx = blon - alon, dy = blat - alat;
  const len2 = dx * dx + dy * dy;
  let t = 0;
  if (len2 > 0) t = Math.min(1, Math.max(0, ((lon - alon) * dx + (lat - alat) * dy) / len2));
  const ex = alon + t * dx - lon, ey = alat + t * dy - lat;
  return ex * ex + ey * ey <= TOL * TOL;
}

// 'inside', 'boundary' or 'outside' of one ring of [lon, lat] (closed or not).
export function ringSide(ring, lon, lat) {
  const n = ring.length;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = ring[j], b = ring[i];
    if (nearSegment(lon, lat, a, b)) return 'boundary';
    if (a[1] > lat !== b[1] > lat) {
      const x = a[0] + ((lat - a[1]) * (b[0] - a[0])) / (b[1] - a[1]);
      if (lon < x) inside = !inside;
    }
  }
  return inside ? 'inside' : 'outside';
}

// coordinates of a GeoJSON Polygon: the outer ring, then holes.
function polygonContains(rings, lon, lat) {
  if (!rings.length) return false;
  const side = ringSide(rings[0], lon, lat);
  if (side !== 'inside') return side === 'boundary';
  return !rings.slice(1).some((hole) => ringSide(hole, lon, lat) === 'inside');
}

// A GeoJSON Polygon or MultiPolygon (as /v1/zones?geometry=1 gives them) contains [lon, lat].
export function shapeContains(shape, lon, lat) {
  if (!shape || !Number.isFinite(lon) || !Number.isFinite(lat)) return false;
  if (shape.type === 'Polygon') return polygonContains(shape.coordinates, lon, lat);
  if (shape.type === 'MultiPolygon') return shape.coordinates.some((p) => polygonContains(p, lon, lat));
  return false;
}

// The limit (km/h) at [lon, lat] for a vehicle of limit vehicleKmh (0: none), with zones (the
// enterprise's, with their shapes) and config (config.json).
export function limitAt(zones, vehicleKmh, config, lon, lat) {
  const road = config.speed_limit_road_kmh || ROAD_DEFAULT_KMH;
  const expresswayLimit = config.speed_limit_expressway_kmh || EXPRESSWAY_DEFAULT_KMH;
  const here = zones
    .filter((z) => shapeContains(z.shape, lon, lat))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, ZONES_MAX);
  const expressway = here.some((z) => z.expressway);
  let zoneLimit = 0;
  for (const z of here) {
    const v = z.speed_limit_kmh || 0;
    if (Boolean(z.expressway) === expressway && v > 0 && (zoneLimit === 0 || v < zoneLimit)) zoneLimit = v;
  }
  let lim = expressway ? expresswayLimit : road;
  if (zoneLimit > 0 && zoneLimit < lim) lim = zoneLimit;
  if (vehicleKmh > 0 && vehicleKmh < lim) lim = vehicleKmh;
  return lim;
}
