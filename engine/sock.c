#define _GNU_SOURCE
#include "sock.h"
#include "out.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int enter_netns(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ev_error("netns", "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/* The whole process is single-threaded, so setns() moves everything we will create. */
	if (setns(fd, CLONE_NEWNET) < 0) {
		ev_error("netns", "setns(%s): %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int prepare_process(const struct opts *o)
{
	if (o->netns && enter_netns(o->netns) < 0)
		return -1;
	if (o->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) < 0) {
			ev_error("affinity", "cannot pin to CPU %d: %s", o->cpu, strerror(errno));
			return -1;
		}
	}
	if (o->rt_prio > 0) {
		struct sched_param sp = {.sched_priority = o->rt_prio};
		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
			ev_error("sched", "SCHED_FIFO priority %d: %s", o->rt_prio, strerror(errno));
			return -1;
		}
	}
	/* Page faults in the measured loop would show up as latency: lock everything in. */
	if (o->mlock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		ev_error("mlock", "mlockall: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int udp_socket(const struct opts *o)
{
	(void)o;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ev_error("socket", "socket(AF_INET, SOCK_DGRAM): %s", strerror(errno));
		return -1;
	}
	return fd;
}
