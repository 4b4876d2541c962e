/* Network namespaces for cnperf-wire: created and deleted as `ip netns add/del` do (a bind mount
 * under /run/netns), and remembered with a route-netlink socket opened inside each, so that every
 * later request for a namespace costs one netlink round trip and no setns. */
#ifndef CNPERF_WIRE_NS_H
#define CNPERF_WIRE_NS_H
#include "nl.h"

#define NETNS_DIR "/run/netns"

struct ns {
	char name[256];
	int fd;	      /* the namespace itself (for IFLA_NET_NS_FD and setns) */
	int nl;	      /* a route-netlink socket living in it */
};

/* Remembers the namespace this process started in; raises the open-file limit (a namespace holds two
 * descriptors here, and 500 pairs are about 1000 namespaces). 0 or -errno. */
int ns_init(void);

/* Creates namespace `name` (like `ip netns add`); -errno with err filled. */
int ns_add(const char *name, char err[NL_ERR]);

/* Creates n namespaces with up to `threads` threads at once (the kernel builds namespaces in parallel;
 * on 2 CPUs two threads took ~25 % less time for 1000). rc[i] is 1 or -errno with err[i] filled. */
void ns_add_many(char *const *names, int n, int threads, int *rc, char (*err)[NL_ERR]);

/* The namespace `name`, opened on first use; NULL with err filled if it does not exist. */
struct ns *ns_get(const char *name, char err[NL_ERR]);

/* Deletes namespace `name` (like `ip netns del`): 1 removed, 0 already gone, -errno with err filled.
 * The kernel dismantles what was inside later, in batches, once the last reference is gone. */
int ns_del(const char *name, char err[NL_ERR]);

/* Runs in the namespace: enters it, calls fn, returns to where this process started. */
int ns_run_in(struct ns *n, int (*fn)(void *), void *arg, char err[NL_ERR]);
#endif
