/* Process set-up before a measurement: namespace, CPU, scheduling, memory; and sockets. */
#ifndef CNPERF_SOCK_H
#define CNPERF_SOCK_H
#include "args.h"

#include <signal.h>
#include <time.h>

/* Set by SIGTERM/SIGINT: measurement loops check it (a plain load, no syscall) and wind down. */
extern volatile sig_atomic_t stop_requested;
void install_stop_handler(void);

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits until the absolute CLOCK_MONOTONIC time t: sleeping, spinning on the clock, or (auto) sleeping
 * to a margin before t and spinning the rest, the margin following how late this machine's timer wakes. */
void wait_until(uint64_t t, enum pace_mode pace);
/* How long this process's waits spun on the clock so far (auto, spin): the CPU pacing cost. */
uint64_t pace_spun_ns(void);

const char *wait_name(enum wait_mode w);
/* {"event":"ready","role":...,"addr":...,"port":...} for a bound or connected socket. */
int emit_ready(int fd, const struct opts *o, const char *role);
int emit_ready_addr(const union sockaddr_any *a, const struct opts *o, const char *role);

/* SO_RCVBUFFORCE or SO_SNDBUFFORCE (past net.core.[rw]mem_max: we are root; the kernel doubles it for
 * its bookkeeping) when bytes > 0: 0, or -1 after an error event naming the option. */
int force_buffer(int fd, int opt, uint64_t bytes);

/* The address a socket is bound to: 0, or -1 after an error event. */
int local_addr(int fd, union sockaddr_any *a);

/* Each returns 0, or emits an error event (with a code naming the step) and returns -1. */
int enter_netns(const char *name);
int prepare_process(const struct opts *o);
int udp_socket(const struct opts *o);
int udp_connected(const struct opts *o);
/* A UDP socket bound to `a` that only holds its port (the kernel picks one for port 0; *bound says
 * which) for a receiver that reads frames beside the stack (AF_XDP, a packet ring): the namespace then
 * never answers the measured flow with "port unreachable". -1 after an error event. */
int hold_udp_port(const union sockaddr_any *a, union sockaddr_any *bound);
/* The MAC address of device `dev` in this namespace (the source of the frames cnperf builds): 0, or -1
 * with errno set; the caller says what it needed it for. */
int dev_mac(const char *dev, uint8_t mac[6]);

#endif
