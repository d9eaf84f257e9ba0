#!/usr/bin/env python3
"""Independent oracle for the expected values in test_geo_sphere.c.

Not run by the tests: it documents where the numbers in the C tables come from and lets anyone
regenerate them (`python3 tests/geo/oracle_geo.py`). It deliberately uses DIFFERENT formulas
from geo_sphere.c (which uses haversine and the Aviation Formulary forms):
  - distance:    n-vector angle atan2(|a x b|, a . b)
  - bearing:     projection of b onto the tangent plane at a (north/east unit vectors)
  - destination: rotation of the n-vector in the tangent plane
  - point-to-segment: numeric minimisation along the slerp-parametrised arc
Sphere radius R = 6371008.8 m (IUGG mean radius), as in geo_core.h.
"""
import math

R = 6371008.8


def nvec(lon, lat):
    lo, la = math.radians(lon), math.radians(lat)
    return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))


def cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def norm(a):
    return math.sqrt(dot(a, a))


def lonlat(v):
    return (math.degrees(math.atan2(v[1], v[0])), math.degrees(math.atan2(v[2], math.hypot(v[0], v[1]))))


def dist(p, q):
    a, b = nvec(*p), nvec(*q)
    return R * math.atan2(norm(cross(a, b)), dot(a, b))


def tangent_frame(p):
    lo, la = math.radians(p[0]), math.radians(p[1])
    east = (-math.sin(lo), math.cos(lo), 0.0)
    north = (-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la))
    return east, north


def bearing(p, q):
    a, b = nvec(*p), nvec(*q)
    east, north = tangent_frame(p)
    d = tuple(bi - dot(a, b) * ai for ai, bi in zip(a, b))
    return math.degrees(math.atan2(dot(d, east), dot(d, north))) % 360.0


def destination(p, brg, d_m):
    a = nvec(*p)
    east, north = tangent_frame(p)
    t, d = math.radians(brg), d_m / R
    v = tuple(ai * math.cos(d) + (ni * math.cos(t) + ei * math.sin(t)) * math.sin(d)
              for ai, ni, ei in zip(a, north, east))
    return lonlat(v)


def seg_dist(p, a, b):
    """min over the arc a-b of dist(p, x), by dense sampling then golden-section refinement."""
    va, vb = nvec(*a), nvec(*b)
    om = math.atan2(norm(cross(va, vb)), dot(va, vb))

    def at(t):
        if om == 0.0:
            return a
        s = math.sin(om)
        v = tuple((math.sin((1 - t) * om) * x + math.sin(t * om) * y) / s for x, y in zip(va, vb))
        return lonlat(v)

    f = lambda t: dist(p, at(t))
    n = 2000
    best = min(range(n + 1), key=lambda i: f(i / n))
    lo, hi = max(0.0, (best - 1) / n), min(1.0, (best + 1) / n)
    g = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        m1, m2 = hi - g * (hi - lo), lo + g * (hi - lo)
        if f(m1) < f(m2):
            hi = m2
        else:
            lo = m1
    return min(f(lo), f(0.0), f(1.0))


if __name__ == "__main__":
    DIST = [((119.7, 49.2), (119.7, 49.2)),
            ((0.0, 0.0), (1.0, 0.0)),
            ((0.0, 0.0), (0.0, 1.0)),
            ((119.7, 49.2), (119.7001, 49.2)),
            ((119.7, 49.2), (119.7, 49.20009)),
            ((119.7, 49.2), (119.765, 49.215)),
            ((119.7386, 49.2121), (119.7806, 49.1713)),
            ((116.4074, 39.9042), (106.8456, -6.2088)),
            ((0.0, -0.5), (0.0, 0.5)),
            ((179.5, 0.0), (-179.5, 0.0)),
            ((10.0, 20.0), (-170.0001, -20.0)),
            ((-118.4, 33.95), (-73.7833333333, 40.6333333333))]
    print("distance (n-vector atan2)")
    for p, q in DIST:
        print(f"  {p} -> {q}: {dist(p, q):.6f} m")
    BRG = [((119.7, 49.2), (119.7, 49.3)), ((119.7, 49.2), (119.7, 49.1)),
           ((0.0, 0.0), (1.0, 0.0)), ((0.0, 0.0), (-1.0, 0.0)),
           ((119.7, 49.2), (119.8, 49.2)),
           ((116.4074, 39.9042), (106.8456, -6.2088)),
           ((-118.4, 33.95), (-73.7833333333, 40.6333333333))]
    print("bearing (tangent-plane projection)")
    for p, q in BRG:
        print(f"  {p} -> {q}: {bearing(p, q):.9f} deg")
    DST = [((119.7, 49.2), 45.0, 10000.0), ((119.7, 49.2), 200.0, 2500.0),
           ((179.9, 10.0), 90.0, 50000.0), ((0.0, 0.0), 0.0, 111195.0797)]
    print("destination (tangent-plane rotation)")
    for p, b, d in DST:
        lo, la = destination(p, b, d)
        print(f"  {p} brg {b} d {d}: lon {lo:.10f} lat {la:.10f}")
    SEG = [((119.75, 49.21), (119.70, 49.20), (119.80, 49.20)),
           ((119.65, 49.21), (119.70, 49.20), (119.80, 49.20)),
           ((119.85, 49.19), (119.70, 49.20), (119.80, 49.20)),
           ((119.72, 49.22), (119.70, 49.20), (119.70, 49.20)),
           ((119.7001, 49.2001), (119.70, 49.20), (119.70, 49.21)),
           ((120.0, 49.5), (119.50, 49.00), (120.30, 49.40)),
           ((119.70, 49.20), (119.50, 49.20), (119.90, 49.20))]
    print("point-to-segment (numeric minimisation)")
    for p, a, b in SEG:
        print(f"  p {p} seg {a}-{b}: {seg_dist(p, a, b):.6f} m")
    LINE = [(119.70, 49.20), (119.80, 49.20), (119.80, 49.25)]
    print("polyline (min of numeric point-to-segment over the segments)")
    for p in [(119.81, 49.23), (119.75, 49.19), (119.69, 49.20), (119.80, 49.26)]:
        ds = [seg_dist(p, LINE[i], LINE[i + 1]) for i in range(len(LINE) - 1)]
        i = min(range(len(ds)), key=lambda k: ds[k])
        print(f"  p {p}: {ds[i]:.6f} m, segment {i}")
