/* expiring.c -- documents that run out soon (expiring.h). */
#include "core/expiring.h"

#include <stdio.h>
#include <string.h>

#define PAGE 256 /* entities read per registry page */

struct scan {
    const struct registry *reg;
    int64_t now_ms;
    int32_t days;
    expiring_fn *fn;
    void *arg;
    size_t n;
};

/* The enterprise's local day of now (UTC+8 when the enterprise is unknown). */
static int32_t today_of(const struct scan *sc, const char *enterprise_id)
{
    const struct lpg_enterprise *e = registry_enterprise(sc->reg, enterprise_id);
    return lpg_local_day(sc->now_ms, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN);
}

static void consider(struct scan *sc, struct expiring_item *it)
{
    if (it->day == LPG_DAY_NONE)
        return;
    int32_t today = today_of(sc, it->enterprise_id);
    if (it->day < today || (int64_t)it->day - today > sc->days)
        return;
    it->days_left = it->day - today;
    sc->n++;
    sc->fn(it, sc->arg);
}

size_t expiring_scan(const struct registry *reg, int64_t now_ms, int32_t days,
                     const struct delivery_policy *pol, expiring_fn *fn, void *arg)
{
    struct scan sc = {reg, now_ms, days, fn, arg, 0};
    if (reg == NULL || fn == NULL || pol == NULL)
        return 0;
    char after[LPG_ID_MAX + 1];
    size_t n;

    const struct lpg_enterprise *ents[PAGE];
    after[0] = '\0';
    while ((n = registry_list_enterprises(reg, after, PAGE, ents)) > 0) {
        for (size_t i = 0; i < n; i++) {
            const struct lpg_enterprise *e = ents[i];
            if (e->licence_no[0] == '\0')
                continue;
            struct expiring_item it = {
                "enterprise",          "licence", e->id, e->id, e->name, e->licence_no, "", "",
                e->licence_expiry_day, 0};
            consider(&sc, &it);
        }
        snprintf(after, sizeof(after), "%s", ents[n - 1]->id);
        if (n < PAGE)
            break;
    }

    const struct lpg_staff *staff[PAGE];
    after[0] = '\0';
    while ((n = registry_list_staff(reg, NULL, after, PAGE, NULL, NULL, staff)) > 0) {
        for (size_t i = 0; i < n; i++) {
            const struct lpg_staff *s = staff[i];
            if (s->qualification_no[0] != '\0') {
                struct expiring_item it = {"staff",
                                           "qualification",
                                           s->id,
                                           s->enterprise_id,
                                           s->name,
                                           s->qualification_no,
                                           s->id,
                                           s->vehicle_id,
                                           s->qualification_expiry_day,
                                           0};
                consider(&sc, &it);
            }
            if (s->training_no[0] != '\0') {
                struct expiring_item it = {
                    "staff",        "training", s->id,         s->enterprise_id,       s->name,
                    s->training_no, s->id,      s->vehicle_id, s->training_expiry_day, 0};
                consider(&sc, &it);
            }
        }
        snprintf(after, sizeof(after), "%s", staff[n - 1]->id);
        if (n < PAGE)
            break;
    }

    const struct lpg_vehicle *veh[PAGE];
    after[0] = '\0';
    while ((n = registry_list_vehicles(reg, NULL, after, PAGE, NULL, NULL, veh)) > 0) {
        for (size_t i = 0; i < n; i++) {
            const struct lpg_vehicle *v = veh[i];
            if (v->permit_no[0] == '\0')
                continue;
            struct expiring_item it = {
                "vehicle",    "permit",    v->id, v->enterprise_id,     v->plate,
                v->permit_no, v->staff_id, v->id, v->permit_expiry_day, 0};
            consider(&sc, &it);
        }
        snprintf(after, sizeof(after), "%s", veh[n - 1]->id);
        if (n < PAGE)
            break;
    }

    const struct lpg_cylinder *cyl[PAGE];
    after[0] = '\0';
    while ((n = registry_list_cylinders(reg, NULL, after, PAGE, NULL, NULL, cyl)) > 0) {
        for (size_t i = 0; i < n; i++) {
            const struct lpg_cylinder *c = cyl[i];
            if (c->status == LPG_CYL_SCRAPPED || c->status == LPG_CYL_LOST)
                continue;
            struct expiring_item it = {"cylinder",
                                       "inspection",
                                       c->id,
                                       c->enterprise_id,
                                       c->spec,
                                       "",
                                       "",
                                       c->vehicle_id,
                                       cylinder_inspection_due_day(c, pol),
                                       0};
            consider(&sc, &it);
        }
        snprintf(after, sizeof(after), "%s", cyl[n - 1]->id);
        if (n < PAGE)
            break;
    }
    return sc.n;
}

void expiring_message(const struct expiring_item *it, char *out, size_t cap)
{
    char day[11];
    lpg_day_format(it->day, day);
    const char *what = strcmp(it->document, "qualification") == 0 ? "qualification certificate"
                       : strcmp(it->document, "training") == 0    ? "safety-training certificate"
                       : strcmp(it->document, "permit") == 0      ? "vehicle permit"
                       : strcmp(it->document, "inspection") == 0  ? "periodic inspection"
                                                                  : "gas business licence";
    char when[32];
    if (it->days_left == 0)
        snprintf(when, sizeof(when), "today");
    else
        snprintf(when, sizeof(when), "in %d day%s", (int)it->days_left,
                 it->days_left == 1 ? "" : "s");
    if (strcmp(it->document, "inspection") == 0)
        snprintf(out, cap, "%s of cylinder %s (%s) falls due %s, %s", what, it->id, it->name, day,
                 when);
    else
        snprintf(out, cap, "%s %s of %s %s (%s): last valid day %s, %s", what, it->number, it->kind,
                 it->id, it->name, day, when);
}
