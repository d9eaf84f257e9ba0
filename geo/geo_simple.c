/*
 * geo_simple.c - simplicity of a multipolygon and "within" between two simple ones, by a sweep
 * line over the edges (Shamos & Hoey 1976): events are the edges' endpoints in lexicographic
 * (x, then y) order, the status is a treap of the edges crossing the sweep line ordered bottom
 * to top, and only edges that become neighbours in the status are tested against each other.
 * O(n log n) whatever the shape, where testing every pair of edges is O(n^2).
 *
 * Exact arithmetic: vertices are rounded to integers in units of GEO_BOUNDARY_TOL_DEG (|x| <=
 * 1.8e11 < 2^38), so every orientation test is an exact 128-bit cross product and the sweep
 * never sees an inconsistent order. Lexicographic order makes vertical edges harmless: it is
 * the x order of the plane sheared by (x, y) -> (x K + y, y) for a huge K, a shear leaves every
 * orientation unchanged, and in the sheared plane no edge is vertical.
 *
 * Event order at one point: every edge ending there is removed before any edge starting there
 * is inserted, so an insertion is only ever compared with edges that continue to its right.
 * Simplicity therefore first refuses repeated vertices (sorting them), because two rings that
 * meet only at a shared vertex, one on each side, would never be neighbours in the status.
 */
#include "geo_simple.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;

/* A vertex rounded to GEO_BOUNDARY_TOL_DEG units. */
struct qpt {
    int64_t x, y;
};

struct ring_info {
    uint32_t start, n;   /* its vertices are start .. start + n - 1 of the world's arrays */
    uint32_t poly, ring; /* where it is in the caller's multipolygon */
    uint8_t color;       /* within: 0 inner, 1 outer; simple: 0 */
    uint8_t ccw;         /* its signed area is positive */
    uint8_t hole;
};

/* The status: one treap node per edge (node i is edge i), linked by index, -1 for none. */
struct tnode {
    int32_t l, r, p;
    uint32_t pri;
    uint32_t cnt[2]; /* edges of each color in the subtree */
};

/* An edge's end points in lexicographic order. fwd: the ring goes from a to b. */
struct seg {
    struct qpt a, b;
    uint8_t fwd;
};

struct event {
    struct qpt p;
    uint32_t edge;
    uint32_t vertex; /* the vertex of the edge at p */
    uint8_t insert;  /* 0: the edge ends at p, 1: it starts there */
};

/* Every vertex of one or two multipolygons; edge i goes from vertex i to ring_next(i). */
struct world {
    size_t n, n_rings;
    struct qpt *pt;
    uint32_t *ring_of;
    struct ring_info *rings;
    struct seg *seg;
    struct tnode *t;
    struct event *ev;
    int32_t root;
};

/* ---- exact predicates ---- */

static int qcmp(struct qpt a, struct qpt b)
{
    if (a.x != b.x)
        return a.x < b.x ? -1 : 1;
    if (a.y != b.y)
        return a.y < b.y ? -1 : 1;
    return 0;
}

static bool qeq(struct qpt a, struct qpt b)
{
    return a.x == b.x && a.y == b.y;
}

static int sgn(i128 v)
{
    return (v > 0) - (v < 0);
}

/* Twice the signed area of triangle abc: > 0 when c is left of a->b. */
static i128 orient(struct qpt a, struct qpt b, struct qpt c)
{
    return (i128)(b.x - a.x) * (c.y - a.y) - (i128)(b.y - a.y) * (c.x - a.x);
}

static struct qpt vsub(struct qpt a, struct qpt b)
{
    return (struct qpt){a.x - b.x, a.y - b.y};
}

static i128 cross(struct qpt u, struct qpt v)
{
    return (i128)u.x * v.y - (i128)u.y * v.x;
}

static i128 dot(struct qpt u, struct qpt v)
{
    return (i128)u.x * v.x + (i128)u.y * v.y;
}

/* c, collinear with a-b, lies on the closed segment. */
static bool in_span(struct qpt a, struct qpt b, struct qpt c)
{
    return (a.x < b.x ? a.x <= c.x && c.x <= b.x : b.x <= c.x && c.x <= a.x) &&
           (a.y < b.y ? a.y <= c.y && c.y <= b.y : b.y <= c.y && c.y <= a.y);
}

/* The closed segments meet (cross, touch or overlap). */
static bool segs_meet(const struct seg *s, const struct seg *t)
{
    int d1 = sgn(orient(t->a, t->b, s->a)), d2 = sgn(orient(t->a, t->b, s->b));
    int d3 = sgn(orient(s->a, s->b, t->a)), d4 = sgn(orient(s->a, s->b, t->b));
    if (d1 * d2 < 0 && d3 * d4 < 0)
        return true;
    return (d1 == 0 && in_span(t->a, t->b, s->a)) || (d2 == 0 && in_span(t->a, t->b, s->b)) ||
           (d3 == 0 && in_span(s->a, s->b, t->a)) || (d4 == 0 && in_span(s->a, s->b, t->b));
}

/* The segments cross at one point interior to both. */
static bool segs_cross(const struct seg *s, const struct seg *t)
{
    int d1 = sgn(orient(t->a, t->b, s->a)), d2 = sgn(orient(t->a, t->b, s->b));
    int d3 = sgn(orient(s->a, s->b, t->a)), d4 = sgn(orient(s->a, s->b, t->b));
    return d1 * d2 < 0 && d3 * d4 < 0;
}

/* ---- the world ---- */

static uint32_t ring_next(const struct world *w, uint32_t v)
{
    const struct ring_info *r = &w->rings[w->ring_of[v]];
    return v + 1 < r->start + r->n ? v + 1 : r->start;
}

static uint32_t ring_prev(const struct world *w, uint32_t v)
{
    const struct ring_info *r = &w->rings[w->ring_of[v]];
    return v > r->start ? v - 1 : r->start + r->n - 1;
}

static unsigned edge_color(const struct world *w, int32_t e)
{
    return w->rings[w->ring_of[e]].color;
}

static size_t ring_open_len(const struct geo_ring *ring)
{
    size_t n = ring->n;
    if (n >= 2 && ring->pts[n - 1].lon == ring->pts[0].lon &&
        ring->pts[n - 1].lat == ring->pts[0].lat)
        n--;
    return n;
}

static void count(const struct geo_multipolygon *mp, size_t *n, size_t *n_rings)
{
    for (size_t i = 0; i < mp->n_polys; i++) {
        const struct geo_polygon *poly = &mp->polys[i];
        *n += ring_open_len(&poly->outer);
        for (size_t h = 0; h < poly->n_holes; h++)
            *n += ring_open_len(&poly->holes[h]);
        *n_rings += 1 + poly->n_holes;
    }
}

static void world_free(struct world *w)
{
    free(w->pt);
    free(w->ring_of);
    free(w->rings);
    free(w->seg);
    free(w->t);
    free(w->ev);
}

/* splitmix64: treap priorities from the edge index and a per-call seed. */
static uint32_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Loads one or two multipolygons (colors 0 and 1), validated by the caller. */
static enum geo_status world_build(struct world *w, const struct geo_multipolygon *const *mps,
                                   size_t n_mps)
{
    memset(w, 0, sizeof(*w));
    w->root = -1;
    size_t n = 0, n_rings = 0;
    for (size_t m = 0; m < n_mps; m++)
        count(mps[m], &n, &n_rings);
    if (n >= INT32_MAX / 2)
        return GEO_ERR_NOMEM; /* far beyond any cap: indexes are 32-bit */
    w->n = n;
    w->n_rings = n_rings;
    w->pt = malloc(n * sizeof(*w->pt));
    w->ring_of = malloc(n * sizeof(*w->ring_of));
    w->rings = malloc(n_rings * sizeof(*w->rings));
    w->seg = malloc(n * sizeof(*w->seg));
    w->t = malloc(n * sizeof(*w->t));
    w->ev = malloc(2 * n * sizeof(*w->ev));
    if (!w->pt || !w->ring_of || !w->rings || !w->seg || !w->t || !w->ev) {
        world_free(w);
        return GEO_ERR_NOMEM;
    }
    size_t v = 0, r = 0;
    for (size_t m = 0; m < n_mps; m++) {
        const struct geo_multipolygon *mp = mps[m];
        for (size_t i = 0; i < mp->n_polys; i++) {
            const struct geo_polygon *poly = &mp->polys[i];
            for (size_t h = 0; h <= poly->n_holes; h++) {
                const struct geo_ring *ring = h == 0 ? &poly->outer : &poly->holes[h - 1];
                size_t len = ring_open_len(ring);
                struct ring_info *ri = &w->rings[r];
                *ri = (struct ring_info){
                    (uint32_t)v, (uint32_t)len, (uint32_t)i, (uint32_t)h, (uint8_t)m, 0, h > 0};
                i128 area2 = 0;
                for (size_t k = 0; k < len; k++) {
                    w->pt[v + k] =
                        (struct qpt){(int64_t)llround(ring->pts[k].lon / GEO_BOUNDARY_TOL_DEG),
                                     (int64_t)llround(ring->pts[k].lat / GEO_BOUNDARY_TOL_DEG)};
                    w->ring_of[v + k] = (uint32_t)r;
                }
                for (size_t k = 0; k < len; k++)
                    area2 += cross(w->pt[v + k], w->pt[v + (k + 1) % len]);
                ri->ccw = area2 > 0;
                v += len;
                r++;
            }
        }
    }
    uint64_t seed = (uint64_t)(uintptr_t)w->t ^ ((uint64_t)n << 32);
    for (size_t e = 0; e < n; e++) {
        struct qpt a = w->pt[e], b = w->pt[ring_next(w, (uint32_t)e)];
        bool fwd = qcmp(a, b) < 0;
        w->seg[e] = (struct seg){fwd ? a : b, fwd ? b : a, fwd};
        w->t[e] = (struct tnode){-1, -1, -1, mix(seed ^ e), {0, 0}};
        uint32_t va = fwd ? (uint32_t)e : ring_next(w, (uint32_t)e);
        uint32_t vb = fwd ? ring_next(w, (uint32_t)e) : (uint32_t)e;
        w->ev[2 * e] = (struct event){w->seg[e].a, (uint32_t)e, va, 1};
        w->ev[2 * e + 1] = (struct event){w->seg[e].b, (uint32_t)e, vb, 0};
    }
    return GEO_OK;
}

static int event_cmp(const void *pa, const void *pb)
{
    const struct event *a = pa, *b = pb;
    int c = qcmp(a->p, b->p);
    if (c != 0)
        return c;
    if (a->insert != b->insert)
        return a->insert - b->insert; /* removals first */
    return (a->edge > b->edge) - (a->edge < b->edge);
}

/* ---- the status treap ---- */

static void pull(struct world *w, int32_t x)
{
    struct tnode *t = w->t;
    unsigned c = edge_color(w, x);
    for (unsigned k = 0; k < 2; k++)
        t[x].cnt[k] =
            (k == c) + (t[x].l >= 0 ? t[t[x].l].cnt[k] : 0) + (t[x].r >= 0 ? t[t[x].r].cnt[k] : 0);
}

static void pull_up(struct world *w, int32_t x)
{
    for (; x >= 0; x = w->t[x].p)
        pull(w, x);
}

/* Rotates x above its parent. */
static void rotate_up(struct world *w, int32_t x)
{
    struct tnode *t = w->t;
    int32_t p = t[x].p, g = t[p].p;
    if (t[p].l == x) {
        int32_t b = t[x].r;
        t[p].l = b;
        if (b >= 0)
            t[b].p = p;
        t[x].r = p;
    } else {
        int32_t b = t[x].l;
        t[p].r = b;
        if (b >= 0)
            t[b].p = p;
        t[x].l = p;
    }
    t[p].p = x;
    t[x].p = g;
    if (g < 0)
        w->root = x;
    else if (t[g].l == p)
        t[g].l = x;
    else
        t[g].r = x;
    pull(w, p);
    pull(w, x);
}

/* > 0 when edge s, starting at the current event point s.a, lies above edge x there (or, if it
 * starts on x, just to the right of that point); 0 when collinear. */
static int above(const struct world *w, int32_t s, int32_t x)
{
    const struct seg *a = &w->seg[s], *b = &w->seg[x];
    int o = sgn(orient(b->a, b->b, a->a));
    return o != 0 ? o : sgn(orient(b->a, b->b, a->b));
}

static void tree_insert(struct world *w, int32_t s)
{
    struct tnode *t = w->t;
    t[s].l = t[s].r = t[s].p = -1;
    if (w->root < 0) {
        w->root = s;
        pull(w, s);
        return;
    }
    int32_t cur = w->root;
    for (;;) {
        int32_t *child = above(w, s, cur) >= 0 ? &t[cur].r : &t[cur].l;
        if (*child < 0) {
            *child = s;
            t[s].p = cur;
            break;
        }
        cur = *child;
    }
    pull_up(w, s);
    while (t[s].p >= 0 && t[t[s].p].pri < t[s].pri)
        rotate_up(w, s);
}

static void tree_remove(struct world *w, int32_t s)
{
    struct tnode *t = w->t;
    while (t[s].l >= 0 || t[s].r >= 0) {
        int32_t c = t[s].l < 0                      ? t[s].r
                    : t[s].r < 0                    ? t[s].l
                    : t[t[s].l].pri > t[t[s].r].pri ? t[s].l
                                                    : t[s].r;
        rotate_up(w, c);
    }
    int32_t p = t[s].p;
    if (p < 0)
        w->root = -1;
    else if (t[p].l == s)
        t[p].l = -1;
    else
        t[p].r = -1;
    t[s].p = -1;
    pull_up(w, p);
}

static int32_t tree_next(const struct world *w, int32_t x)
{
    const struct tnode *t = w->t;
    if (t[x].r >= 0) {
        for (x = t[x].r; t[x].l >= 0; x = t[x].l)
            ;
        return x;
    }
    while (t[x].p >= 0 && t[t[x].p].r == x)
        x = t[x].p;
    return t[x].p;
}

static int32_t tree_prev(const struct world *w, int32_t x)
{
    const struct tnode *t = w->t;
    if (t[x].l >= 0) {
        for (x = t[x].l; t[x].r >= 0; x = t[x].r)
            ;
        return x;
    }
    while (t[x].p >= 0 && t[t[x].p].l == x)
        x = t[x].p;
    return t[x].p;
}

#define ANY_COLOR 2u

static uint32_t has(const struct world *w, int32_t x, unsigned color)
{
    if (x < 0)
        return 0;
    return color == ANY_COLOR ? w->t[x].cnt[0] + w->t[x].cnt[1] : w->t[x].cnt[color];
}

/* The highest edge of `color` strictly below p, or -1. Every edge in the status spans p's
 * abscissa (in the sheared plane), none passes through p. */
static int32_t nearest_below(const struct world *w, struct qpt p, unsigned color)
{
    const struct tnode *t = w->t;
    int32_t best = -1, best_tree = -1; /* a node, or a subtree whose maximum is the answer */
    for (int32_t x = w->root; x >= 0;) {
        const struct seg *s = &w->seg[x];
        if (orient(s->a, s->b, p) > 0) { /* p above x: x and its left subtree are below p */
            if (color == ANY_COLOR || edge_color(w, x) == color) {
                best = x;
                best_tree = -1;
            } else if (has(w, t[x].l, color)) {
                best = -1;
                best_tree = t[x].l;
            }
            x = t[x].r;
        } else {
            x = t[x].l;
        }
    }
    if (best >= 0 || best_tree < 0)
        return best;
    for (int32_t x = best_tree;;) { /* the maximum of `color` in the subtree */
        if (has(w, t[x].r, color))
            x = t[x].r;
        else if (color == ANY_COLOR || edge_color(w, x) == color)
            return x;
        else
            x = t[x].l;
    }
}

/* The lowest edge not strictly below p, or -1. */
static int32_t lowest_not_below(const struct world *w, struct qpt p)
{
    int32_t best = -1;
    for (int32_t x = w->root; x >= 0;) {
        const struct seg *s = &w->seg[x];
        if (orient(s->a, s->b, p) > 0) {
            x = w->t[x].r;
        } else {
            best = x;
            x = w->t[x].l;
        }
    }
    return best;
}

/* The interior of edge e's own region (its ring's inside for `ring_inside`, else its
 * multipolygon's inside) lies above it. */
static bool inside_above(const struct world *w, int32_t e, bool ring_inside)
{
    const struct ring_info *r = &w->rings[w->ring_of[e]];
    bool left = ring_inside ? r->ccw : (r->hole ? !r->ccw : r->ccw);
    return w->seg[e].fwd ? left : !left;
}

/* ---- simplicity ---- */

const char *geo_simple_problem_str(enum geo_simple_problem problem)
{
    switch (problem) {
    case GEO_SIMPLE_OK:
        return "simple";
    case GEO_SIMPLE_REPEATED_VERTEX:
        return "repeated vertex";
    case GEO_SIMPLE_SPIKE:
        return "the ring folds back on itself";
    case GEO_SIMPLE_SELF_INTERSECTION:
        return "edges of one ring cross or touch";
    case GEO_SIMPLE_RINGS_INTERSECT:
        return "a hole crosses or touches its shell or another hole";
    case GEO_SIMPLE_PARTS_INTERSECT:
        return "parts of the multipolygon cross or touch";
    case GEO_SIMPLE_HOLE_OUTSIDE:
        return "a hole is not inside its shell";
    case GEO_SIMPLE_PARTS_OVERLAP:
        return "a part lies inside another part";
    }
    return "unknown problem";
}

static struct geo_vertex_ref vref(const struct world *w, uint32_t v)
{
    const struct ring_info *r = &w->rings[w->ring_of[v]];
    return (struct geo_vertex_ref){r->poly, r->ring, v - r->start};
}

static struct geo_vertex_ref ring_ref(const struct world *w, int64_t ring)
{
    if (ring < 0)
        return (struct geo_vertex_ref){GEO_SIMPLE_NONE, GEO_SIMPLE_NONE, GEO_SIMPLE_NONE};
    return (struct geo_vertex_ref){w->rings[ring].poly, w->rings[ring].ring, 0};
}

struct vsort {
    struct qpt p;
    uint32_t v;
};

static int vsort_cmp(const void *pa, const void *pb)
{
    const struct vsort *a = pa, *b = pb;
    int c = qcmp(a->p, b->p);
    return c != 0 ? c : (a->v > b->v) - (a->v < b->v);
}

/* Sorted positions: any two equal are a repeated vertex. */
static enum geo_status find_repeated(const struct world *w, struct geo_simple_issue *issue)
{
    struct vsort *vs = malloc(w->n * sizeof(*vs));
    if (vs == NULL)
        return GEO_ERR_NOMEM;
    for (size_t v = 0; v < w->n; v++)
        vs[v] = (struct vsort){w->pt[v], (uint32_t)v};
    qsort(vs, w->n, sizeof(*vs), vsort_cmp);
    enum geo_status st = GEO_OK;
    for (size_t i = 1; i < w->n && st == GEO_OK; i++)
        if (qeq(vs[i].p, vs[i - 1].p)) {
            *issue = (struct geo_simple_issue){GEO_SIMPLE_REPEATED_VERTEX, vref(w, vs[i - 1].v),
                                               vref(w, vs[i].v)};
            st = GEO_ERR_NOT_SIMPLE;
        }
    free(vs);
    return st;
}

/* Tests two edges that became neighbours; fills *issue and returns false if they may not meet. */
static bool pair_ok(const struct world *w, int32_t s, int32_t t, struct geo_simple_issue *issue)
{
    if (s < 0 || t < 0 || !segs_meet(&w->seg[s], &w->seg[t]))
        return true;
    uint32_t rs = w->ring_of[s], rt = w->ring_of[t];
    if (rs == rt &&
        (ring_next(w, (uint32_t)s) == (uint32_t)t || ring_next(w, (uint32_t)t) == (uint32_t)s)) {
        /* Consecutive edges meet at their shared vertex v; only a fold back is wrong. */
        uint32_t v = ring_next(w, (uint32_t)s) == (uint32_t)t ? (uint32_t)t : (uint32_t)s;
        struct qpt x = w->pt[ring_prev(w, v)], y = w->pt[ring_next(w, v)], pv = w->pt[v];
        struct qpt dx = vsub(x, pv), dy = vsub(y, pv);
        if (!(cross(dx, dy) == 0 && dot(dx, dy) > 0))
            return true;
        *issue = (struct geo_simple_issue){GEO_SIMPLE_SPIKE, vref(w, v), vref(w, v)};
        return false;
    }
    enum geo_simple_problem pr = rs == rt ? GEO_SIMPLE_SELF_INTERSECTION
                                 : w->rings[rs].poly == w->rings[rt].poly
                                     ? GEO_SIMPLE_RINGS_INTERSECT
                                     : GEO_SIMPLE_PARTS_INTERSECT;
    uint32_t a = (uint32_t)(s < t ? s : t), b = (uint32_t)(s < t ? t : s);
    *issue = (struct geo_simple_issue){pr, vref(w, a), vref(w, b)};
    return false;
}

enum geo_status geo_multipolygon_simple(const struct geo_multipolygon *mpoly,
                                        struct geo_simple_issue *issue)
{
    enum geo_status st = geo_multipolygon_check(mpoly);
    if (st != GEO_OK)
        return st;
    struct geo_simple_issue scratch;
    if (issue == NULL)
        issue = &scratch;
    struct world w;
    st = world_build(&w, &mpoly, 1);
    if (st != GEO_OK)
        return st;
    int64_t *parent = malloc(w.n_rings * sizeof(*parent));
    uint32_t *minv = malloc(w.n_rings * sizeof(*minv));
    if (parent == NULL || minv == NULL) {
        st = GEO_ERR_NOMEM;
        goto out;
    }
    st = find_repeated(&w, issue);
    if (st != GEO_OK)
        goto out;
    for (size_t r = 0; r < w.n_rings; r++) {
        const struct ring_info *ri = &w.rings[r];
        minv[r] = ri->start;
        for (uint32_t v = ri->start + 1; v < ri->start + ri->n; v++)
            if (qcmp(w.pt[v], w.pt[minv[r]]) < 0)
                minv[r] = v;
    }

    size_t ne = 2 * w.n;
    qsort(w.ev, ne, sizeof(*w.ev), event_cmp);
    for (size_t i = 0; i < ne && st == GEO_OK;) {
        size_t j = i, m;
        while (j < ne && qeq(w.ev[j].p, w.ev[i].p))
            j++;
        for (m = i; m < j && !w.ev[m].insert && st == GEO_OK; m++) { /* removals come first */
            int32_t x = (int32_t)w.ev[m].edge;
            int32_t lo = tree_prev(&w, x), hi = tree_next(&w, x);
            tree_remove(&w, x);
            if (!pair_ok(&w, lo, hi, issue))
                st = GEO_ERR_NOT_SIMPLE;
        }
        /* The lowest vertex of a ring: which ring is it in? The nearest edge below tells: if
         * that edge's ring lies above it, that ring, else that ring's own container. Asked
         * before this point's insertions, so no edge of the ring itself is in the status. */
        for (size_t k = m; k < j && st == GEO_OK; k++) {
            const struct event *e = &w.ev[k];
            uint32_t r = w.ring_of[e->vertex];
            if (minv[r] == e->vertex && e->edge == e->vertex) {
                int32_t b = nearest_below(&w, e->p, ANY_COLOR);
                parent[r] = b < 0                       ? -1
                            : inside_above(&w, b, true) ? (int64_t)w.ring_of[b]
                                                        : parent[w.ring_of[b]];
            }
        }
        for (size_t k = m; k < j && st == GEO_OK; k++) {
            int32_t x = (int32_t)w.ev[k].edge;
            tree_insert(&w, x);
            if (!pair_ok(&w, x, tree_prev(&w, x), issue) ||
                !pair_ok(&w, x, tree_next(&w, x), issue))
                st = GEO_ERR_NOT_SIMPLE;
        }
        i = j;
    }
    if (st != GEO_OK)
        goto out;
    /* No two edges meet: the rings are disjoint curves and parent[] is their nesting. */
    for (size_t r = 0; r < w.n_rings && st == GEO_OK; r++) {
        const struct ring_info *ri = &w.rings[r];
        int64_t p = parent[r];
        if (ri->hole && p != (int64_t)(r - ri->ring)) {
            *issue = (struct geo_simple_issue){GEO_SIMPLE_HOLE_OUTSIDE, vref(&w, ri->start),
                                               ring_ref(&w, p)};
            st = GEO_ERR_NOT_SIMPLE;
        } else if (!ri->hole && p >= 0 && !w.rings[p].hole) {
            *issue = (struct geo_simple_issue){GEO_SIMPLE_PARTS_OVERLAP, vref(&w, ri->start),
                                               ring_ref(&w, p)};
            st = GEO_ERR_NOT_SIMPLE;
        }
    }
out:
    free(parent);
    free(minv);
    world_free(&w);
    return st;
}

/* ---- within ---- */

enum side { SIDE_OUT, SIDE_ON, SIDE_IN };

/* Where direction d from a boundary point lies relative to a region whose interior near that
 * point is the open sector turning counterclockwise from direction u to direction w. */
static enum side classify(struct qpt d, struct qpt u, struct qpt w)
{
    i128 cud = cross(u, d), cdw = cross(d, w), cuw = cross(u, w);
    if ((cud == 0 && dot(u, d) > 0) || (cdw == 0 && dot(d, w) > 0))
        return SIDE_ON;
    if (cuw > 0) /* convex corner */
        return cud > 0 && cdw > 0 ? SIDE_IN : SIDE_OUT;
    if (cuw < 0) /* reflex corner: out only inside the convex sector from w to u */
        return cross(w, d) > 0 && cross(d, u) > 0 ? SIDE_OUT : SIDE_IN;
    if (dot(u, w) < 0) /* straight: the left half-plane of u */
        return cud > 0 ? SIDE_IN : SIDE_OUT;
    return SIDE_OUT; /* a spike: not a simple ring */
}

/* The interior sector (u, w) of the multipolygon that vertex v belongs to, at v. */
static void vertex_sector(const struct world *w, uint32_t v, struct qpt *u, struct qpt *wd)
{
    const struct ring_info *r = &w->rings[w->ring_of[v]];
    bool left = r->hole ? !r->ccw : r->ccw; /* the interior lies left of the ring's order */
    uint32_t nx = ring_next(w, v), pv = ring_prev(w, v);
    *u = vsub(w->pt[left ? nx : pv], w->pt[v]);
    *wd = vsub(w->pt[left ? pv : nx], w->pt[v]);
}

/* The same at a point p inside edge e (a straight corner). */
static void edge_sector(const struct world *w, uint32_t e, struct qpt p, struct qpt *u,
                        struct qpt *wd)
{
    const struct ring_info *r = &w->rings[w->ring_of[e]];
    bool left = r->hole ? !r->ccw : r->ccw;
    struct qpt from = w->pt[e], to = w->pt[ring_next(w, e)];
    *u = vsub(left ? to : from, p);
    *wd = vsub(left ? from : to, p);
}

/* The boundary of one color at the current point: its vertex there, or its edge through it. */
struct at_point {
    int32_t vertex, edge;
};

static enum side classify_at(const struct world *w, struct at_point b, struct qpt p, struct qpt d)
{
    struct qpt u, wd;
    if (b.vertex >= 0)
        vertex_sector(w, (uint32_t)b.vertex, &u, &wd);
    else
        edge_sector(w, (uint32_t)b.edge, p, &u, &wd);
    return classify(d, u, wd);
}

/* Edges of different colors that cross at a point inside both. */
static bool red_blue_cross(const struct world *w, int32_t s, int32_t t)
{
    return s >= 0 && t >= 0 && edge_color(w, s) != edge_color(w, t) &&
           segs_cross(&w->seg[s], &w->seg[t]);
}

/*
 * Inner (color 0) within outer (color 1), both simple, so edges of one color never meet but at
 * shared vertices. Inner is within outer iff
 *   1. no inner edge crosses an outer edge at a point inside both (Shamos-Hoey between colors:
 *      edges of one color never cross, so the first crossing is between neighbours);
 *   2. inner's boundary stays in outer: each piece of it between the points where it meets
 *      outer's boundary is inside or on outer. Each piece is judged where it starts: at an
 *      inner vertex on outer's boundary, or at an outer vertex on an inner edge, by the
 *      directions of its edges against outer's corner there (exact); at an inner vertex off
 *      outer's boundary, by the outer edge just below it (its region lies above it or not);
 *   3. no hole of outer is inside inner: by 1 and 2 inner's boundary never enters a hole, so a
 *      hole (less the islands in it) is all in inner or all out; judged at each vertex of the
 *      hole, from a direction into the hole, against inner's corner there or the inner edge
 *      just below.
 */
enum geo_status geo_multipolygon_within(const struct geo_multipolygon *inner,
                                        const struct geo_multipolygon *outer, bool *within)
{
    if (within == NULL)
        return GEO_ERR_NULL;
    enum geo_status st = geo_multipolygon_check(inner);
    if (st == GEO_OK)
        st = geo_multipolygon_check(outer);
    if (st != GEO_OK)
        return st;
    const struct geo_multipolygon *mps[2] = {inner, outer};
    struct world w;
    st = world_build(&w, mps, 2);
    if (st != GEO_OK)
        return st;
    size_t ne = 2 * w.n;
    qsort(w.ev, ne, sizeof(*w.ev), event_cmp);
    bool ok = true;
    for (size_t i = 0; i < ne && ok;) {
        size_t j = i, m;
        struct qpt p = w.ev[i].p;
        while (j < ne && qeq(w.ev[j].p, p))
            j++;
        for (m = i; m < j && !w.ev[m].insert && ok; m++) {
            int32_t x = (int32_t)w.ev[m].edge;
            int32_t lo = tree_prev(&w, x), hi = tree_next(&w, x);
            tree_remove(&w, x);
            ok = !red_blue_cross(&w, lo, hi);
        }
        struct at_point col[2] = {{-1, -1}, {-1, -1}};
        for (size_t k = i; k < j; k++)
            col[w.rings[w.ring_of[w.ev[k].vertex]].color].vertex = (int32_t)w.ev[k].vertex;
        /* Edges through p (it is inside them: those ending here are gone, those starting here
         * are not in yet); simple rings allow one of each color. */
        int32_t x = lowest_not_below(&w, p);
        for (int guard = 0; x >= 0 && guard < 4; guard++, x = tree_next(&w, x)) {
            if (orient(w.seg[x].a, w.seg[x].b, p) != 0)
                break;
            if (col[edge_color(&w, x)].edge < 0)
                col[edge_color(&w, x)].edge = x;
        }
        bool blue_here = col[1].vertex >= 0 || col[1].edge >= 0;
        bool red_here = col[0].vertex >= 0 || col[0].edge >= 0;
        if (ok && col[0].vertex >= 0) { /* 2, at an inner vertex */
            uint32_t v = (uint32_t)col[0].vertex;
            if (blue_here) {
                ok = classify_at(&w, col[1], p, vsub(w.pt[ring_next(&w, v)], p)) != SIDE_OUT &&
                     classify_at(&w, col[1], p, vsub(w.pt[ring_prev(&w, v)], p)) != SIDE_OUT;
            } else {
                int32_t b = nearest_below(&w, p, 1);
                ok = b >= 0 && inside_above(&w, b, false);
            }
        } else if (ok && col[0].edge >= 0 && col[1].vertex >= 0) { /* 2, at an outer vertex */
            uint32_t e = (uint32_t)col[0].edge;
            ok = classify_at(&w, col[1], p, vsub(w.pt[e], p)) != SIDE_OUT &&
                 classify_at(&w, col[1], p, vsub(w.pt[ring_next(&w, e)], p)) != SIDE_OUT;
        }
        if (ok && col[1].vertex >= 0 && w.rings[w.ring_of[col[1].vertex]].hole) { /* 3 */
            struct qpt u, wd, d;
            vertex_sector(&w, (uint32_t)col[1].vertex, &u, &wd);
            /* Into the hole: the sector from wd counterclockwise to u. */
            i128 c = cross(wd, u);
            struct qpt sum = {wd.x + u.x, wd.y + u.y};
            d = c > 0 ? sum : c < 0 ? (struct qpt){-sum.x, -sum.y} : (struct qpt){-wd.y, wd.x};
            if (red_here) {
                ok = classify_at(&w, col[0], p, d) != SIDE_IN;
            } else {
                int32_t r = nearest_below(&w, p, 0);
                ok = !(r >= 0 && inside_above(&w, r, false));
            }
        }
        for (size_t k = m; k < j && ok; k++) {
            int32_t e = (int32_t)w.ev[k].edge;
            tree_insert(&w, e);
            ok = !red_blue_cross(&w, e, tree_prev(&w, e)) &&
                 !red_blue_cross(&w, e, tree_next(&w, e));
        }
        i = j;
    }
    world_free(&w);
    *within = ok;
    return GEO_OK;
}
