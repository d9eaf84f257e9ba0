/* track.h -- a recorded drive for the simulator: the track points of a GPX file (trkpt with
 * lat/lon attributes; time, ele, speed in m/s, course, sat), or the CSV that
 * tests/agent/gpx_to_nmea.py writes ("time_ms,lat,lon,speed_m_s" per line; the live demo uses it
 * to move a drive into its zone and to now). Points without a time are skipped; a point whose
 * time is not after the previous one is dropped (loggers repeat seconds).
 */
#ifndef LPG_JT808SIM_TRACK_H
#define LPG_JT808SIM_TRACK_H

#include <stddef.h>
#include <stdint.h>

#define TRACK_POINTS_MAX 1000000
#define TRACK_FILE_MAX   (64L * 1024 * 1024)

struct track_point {
    int64_t t_ms;
    double lat, lon;
    double ele_m;      /* 0 when absent */
    double speed_ms;   /* < 0 when absent (computed from the neighbours by track_complete) */
    double course_deg; /* < 0 when absent (computed from the next point by track_complete) */
    int sats;          /* -1 when absent */
};

struct track {
    struct track_point *p;
    size_t n;
};

/* Reads path (GPX when the text starts with '<' after blanks, else CSV). 0, or -1 with a
 * message in err. The caller frees with track_free. */
int track_read(const char *path, struct track *t, char *err, size_t errlen);
/* Parses text (NUL-terminated) in the same way. */
int track_parse(const char *text, struct track *t, char *err, size_t errlen);
/* Fills missing speeds and courses from the neighbouring points. */
void track_complete(struct track *t);
void track_free(struct track *t);

/* Great-circle distance in metres and initial bearing in degrees (0 north, clockwise). */
double track_distance_m(double lat1, double lon1, double lat2, double lon2);
double track_bearing_deg(double lat1, double lon1, double lat2, double lon2);

#endif
