/*
 * geo_simple.h - simple polygons: is a (multi)polygon simple, and does one simple multipolygon
 * lie within another, each in O(n log n) by a sweep line (Shamos-Hoey) rather than by testing
 * every pair of edges.
 *
 * Exactness: both tests work on the vertices rounded to GEO_BOUNDARY_TOL_DEG (1e-9 degree,
 * <= 0.11 mm), i.e. on 64-bit integers, with exact 128-bit orientation tests. So every answer is
 * exact for the rounded shape and needs no tolerance: two vertices closer than 0.5e-9 degree are
 * the same vertex, and a vertex within that distance of an edge lies on it.
 *
 * "Simple" (what geo_multipolygon_simple accepts):
 *   - every ring (outer ring or hole) is a simple closed curve: no vertex repeated (the closing
 *     duplicate aside), no two edges meeting except consecutive edges at their shared vertex, and
 *     those not folding back along each other (a spike);
 *   - rings do not meet at all, not even at one point (holes strictly inside their shell, parts
 *     of a multipolygon disjoint);
 *   - every hole lies inside its own shell and in no other hole; a part lies outside every other
 *     part, or inside one of its holes (an island in a lake).
 * A simple ring has nonzero area, so this also refuses flat rings.
 *
 * Scratch memory: O(n) (about 170 bytes a vertex), allocated and freed within the call.
 */
#ifndef GEO_SIMPLE_H
#define GEO_SIMPLE_H

#include "geo_polygon.h"

#include <stdbool.h>
#include <stddef.h>

/* What makes a multipolygon not simple. */
enum geo_simple_problem {
    GEO_SIMPLE_OK = 0,
    GEO_SIMPLE_REPEATED_VERTEX, /* two vertices at the same position (at: one, other: the other) */
    GEO_SIMPLE_SPIKE,           /* consecutive edges fold back along each other (at: the vertex
                                   between them) */
    GEO_SIMPLE_SELF_INTERSECTION, /* two edges of one ring cross or touch (at, other: the first
                                     vertex of each edge) */
    GEO_SIMPLE_RINGS_INTERSECT,   /* edges of two rings of one polygon cross or touch: a hole
                                     meets its shell or another hole */
    GEO_SIMPLE_PARTS_INTERSECT,   /* edges of two parts of a multipolygon cross or touch */
    GEO_SIMPLE_HOLE_OUTSIDE,      /* a hole (at: its vertex 0) is not inside its shell (other:
                                     the ring it lies in, or ring == GEO_SIMPLE_NONE if none) */
    GEO_SIMPLE_PARTS_OVERLAP,     /* a part (at: its vertex 0) lies inside another part (other) */
};

#define GEO_SIMPLE_NONE ((size_t)-1)

/* A vertex: polygon index in the multipolygon, ring index in the polygon (0 = outer ring,
 * 1.. = holes in order), vertex index in the ring (as given, 0-based). */
struct geo_vertex_ref {
    size_t poly, ring, vertex;
};

struct geo_simple_issue {
    enum geo_simple_problem problem;
    struct geo_vertex_ref at;    /* where (see the problem) */
    struct geo_vertex_ref other; /* the other place involved (see the problem) */
};

/* Static English text for a problem ("edges of one ring cross or touch", ...); never NULL. */
const char *geo_simple_problem_str(enum geo_simple_problem problem);

/*
 * GEO_OK if mpoly is simple (see above); GEO_ERR_NOT_SIMPLE with *issue filled (issue may be
 * NULL) if not; the errors of geo_multipolygon_check; GEO_ERR_NOMEM. O(n log n) for n vertices.
 */
enum geo_status geo_multipolygon_simple(const struct geo_multipolygon *mpoly,
                                        struct geo_simple_issue *issue);

/*
 * *within = whether every point of inner (a closed set: boundary included) lies in outer (also
 * closed), with the rounding above: inner may share edges and vertices with outer's boundary
 * and touch it from inside; an inner that covers a hole of outer, or lies against outer from
 * outside, is not within. Precondition: both pass geo_multipolygon_simple (on other
 * input the call still returns, with an unspecified answer). Errors: those of
 * geo_multipolygon_check, GEO_ERR_NOMEM (*within untouched). O((n + m) log(n + m)).
 */
enum geo_status geo_multipolygon_within(const struct geo_multipolygon *inner,
                                        const struct geo_multipolygon *outer, bool *within);

#endif /* GEO_SIMPLE_H */
