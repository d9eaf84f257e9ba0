/* entity.c -- saving a changeset to Redis (entity.h). */
#include "store/entity.h"

#include <stdlib.h>
#include <string.h>

int changeset_save(const struct changeset *cs, const struct store *st, struct store_txn *txn)
{
    for (size_t i = 0; i < cs->n; i++) {
        const struct entity_ops *ops = &entity_ops[cs->items[i].kind];
        json_t *j = ops->to_json(cs->items[i].entity);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        json_decref(j);
        int rc = text ? registry_store_save(st, txn, ops->kind, ops->id(cs->items[i].entity), text,
                                            strlen(text))
                      : -1;
        free(text);
        if (rc != 0)
            return -1;
    }
    return 0;
}
