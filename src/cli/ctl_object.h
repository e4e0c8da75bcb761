/* ctl_object.h: what the tenant, user and client commands share: kinds and their JSON. */
#ifndef AUTIONAL_CTL_OBJECT_H
#define AUTIONAL_CTL_OBJECT_H

#include <json.h>

#include "ctl.h"
#include "ctl_directory.h"

struct ctl_kind_info {
	const char *name;        /* "tenant": the first word of its commands */
	const char *plural;      /* "tenants" */
	const char *id_key;      /* the JSON key of its public id: "id" or "client_id" */
};

extern const struct ctl_kind_info ctl_kinds[];

/* An object as list --json and show --json print it. */
json_object *ctl_object_json(enum ctl_kind k, const struct ctl_object *o);

#endif
