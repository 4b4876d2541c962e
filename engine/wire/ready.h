/* Readiness: a built datapath forwards only once its devices have carrier and its bridge ports
 * forward (the kernel applies carrier lazily, in linkwatch). cnperf-wire waits for that on netlink
 * events in every namespace involved instead of polling. */
#ifndef CNPERF_WIRE_READY_H
#define CNPERF_WIRE_READY_H
#include "nl.h"

enum want_kind { WANT_CARRIER, WANT_PORT, WANT_ALL_PORTS };

/* Registers a condition; 0 or -errno with err filled (an unknown namespace). */
int ready_want(enum want_kind kind, const char *netns, const char *dev, char err[NL_ERR]);

/* Waits until every registered condition holds or timeout_ms passes. Returns the milliseconds it
 * waited, or -ETIMEDOUT with report() called once per unmet condition (what, why), or -errno. */
long ready_wait(long timeout_ms, void (*report)(const char *what, const char *why), char err[NL_ERR]);
#endif
