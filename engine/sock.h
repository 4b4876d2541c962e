/* Process set-up before a measurement: namespace, CPU, scheduling, memory; and sockets. */
#ifndef CNPERF_SOCK_H
#define CNPERF_SOCK_H
#include "args.h"

/* Each returns 0, or emits an error event (with a code naming the step) and returns -1. */
int enter_netns(const char *name);
int prepare_process(const struct opts *o);
int udp_socket(const struct opts *o);

#endif
