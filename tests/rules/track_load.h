/*
 * track_load.h - test-only loaders of the recorded tracks in tests/data/tracks into arrays of
 * struct lpg_fix: a minimal tolerant GPX reader (trkpt elements only) and the barefoot JSON
 * format (via jansson). Test code: simple, bounded, fails loudly (returns -1).
 */
#ifndef TRACK_LOAD_H
#define TRACK_LOAD_H

#include "core/fix.h"

#include <stddef.h>

struct track {
    struct lpg_fix *fixes; /* malloc'd; track_free */
    size_t n;
};

/* Every <trkpt> of a GPX file: lat/lon attributes, <time> (ISO 8601 UTC), <speed> (m/s,
 * converted to km/h), <fix> ("2d", "3d", "dgps", "none"; 3D when absent). Waypoints are
 * ignored. Returns 0, or -1 when the file cannot be read or a trkpt is malformed. */
int track_load_gpx(const char *path, struct track *out);

/* barefoot's JSON: [{"point":"POINT(lon lat)","time":"YYYY-MM-DD HH:MM:SS+hhmm"}, ...];
 * no speed. */
int track_load_barefoot(const char *path, struct track *out);

void track_free(struct track *t);

/* "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh[:]mm|-hh[:]mm)" (T or space) -> UTC ms; -1 if malformed. */
int64_t track_parse_time_ms(const char *s);

#endif
