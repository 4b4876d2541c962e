/* The kernel steps cnperf-wire performs: one function per request kind, each one netlink
 * request (or namespace mount) with the same effect as the `ip` command the plan shows for it. */
#ifndef CNPERF_WIRE_OPS_H
#define CNPERF_WIRE_OPS_H
#include "nl.h"

/* f: the request's fields after its name (count checked by the caller). Returns 1 done, 0 already
 * gone (deletions only), -errno with err filled. */
typedef int (*op_fn)(char **f, char err[NL_ERR]);

struct op {
	const char *name;
	int nfields;
	op_fn fn;
	const char *fields; /* for the usage text */
};

extern const struct op OPS[];
const struct op *op_find(const char *name);
#endif
