/* entity_kind.h -- the kinds of registry entity, one enum for every layer: the operations
 * table and changesets (core/entity.h), the registry rules, and the persistence in Redis
 * (store/registry_store.h names a key after each kind). The RS_ prefix is historical (the enum
 * was born in registry_store.h); the order is the index of entity_ops[].
 */
#ifndef LPG_ENTITY_KIND_H
#define LPG_ENTITY_KIND_H

enum rs_kind {
    RS_ENTERPRISE,
    RS_ZONE,
    RS_STAFF,
    RS_VEHICLE,
    RS_CUSTOMER,
    RS_ORDER,
    RS_CYLINDER,
    RS_HAZARD,
    RS_STATION,
    RS_KIND_COUNT
};

#endif
