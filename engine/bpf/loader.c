/* cnperf-bpf: loads cnperf's BPF programs for the eBPF datapaths, attaches them to devices inside
 * cnperf's namespaces, fills their maps, and reads their counters after a run. Driven by the
 * planned steps (src/datapaths/ebpf/ebpf.ts, src/local/bpf.ts):
 *
 *   cnperf-bpf load OBJECT PINDIR < requests   load OBJECT once, pin its maps and programs in PINDIR
 *                                              (inside a bpffs mount of the run's own), then apply
 *                                              the requests, one per line, tab-separated:
 *       xdp    NETNS DEV PROG                  attach PROG as DEV's native XDP program
 *       tc     NETNS DEV PROG                  attach PROG at DEV's ingress: tcx, or clsact before 6.6
 *       port   NETNS DEV                       add DEV to the DEVMAP `ports` (xdp)
 *       fdb    NETNS MAC DEV                   frames to MAC go out of DEV (xdp)
 *       local  NETNS IP DEV DMAC SMAC          IP is a container behind DEV: redirect_peer (tcx)
 *       remote NETNS IP DEV NEXTHOP            IP is behind NEXTHOP, out of DEV: redirect_neigh (tcx)
 *                                              (IP and NEXTHOP: IPv4, or both IPv6: `endpoints6`)
 *     prints "attached NETNS DEV PROG HOOK" for every attachment (HOOK: xdp-native, tcx, clsact).
 *   cnperf-bpf stats PINDIR...                 one JSON line per PINDIR: each pinned program's run
 *                                              count and run time (kernel.bpf_stats_enabled), and the
 *                                              action counters its programs kept, summed over CPUs.
 *   cnperf-bpf stats-hold                      keeps per-program run statistics on (BPF_ENABLE_STATS,
 *                                              what kernel.bpf_stats_enabled=1 does) while it runs:
 *                                              prints "enabled", exits at end of stdin; the kernel
 *                                              turns them off when it exits, even when it is killed
 *   cnperf-bpf probe                           what this kernel offers, one "NAME\tyes|no\tDETAIL" line
 *   cnperf-bpf version
 *
 * Programs stay attached to their devices after this process exits and go with the devices (every
 * device is in a namespace cnperf deletes at teardown); pins go when the run's bpffs is unmounted. */
#define _GNU_SOURCE
#include "../version.h"
#include "counters.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Kernel 6.6's tcx attach points; Debian 12's headers predate them. */
#define CNPERF_BPF_TCX_INGRESS 46
#ifndef AF_XDP
#define AF_XDP 44
#endif

/* ---- libbpf's messages: kept (the last LOG_LINES) so a failure can show the verifier's words ---- */

#define LOG_LINES 48
static char log_ring[LOG_LINES][256];
static unsigned log_next;

static int keep_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	char line[1024];
	vsnprintf(line, sizeof line, fmt, ap);
	/* libbpf hands the verifier's log over as one message: keep it line by line */
	for (char *save = NULL, *l = strtok_r(line, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		snprintf(log_ring[log_next++ % LOG_LINES], sizeof log_ring[0], "%s", l);
	return 0;
}

/* The last n lines libbpf printed, to stderr, indented. */
static void print_log_tail(unsigned n)
{
	unsigned have = log_next < LOG_LINES ? log_next : LOG_LINES;
	if (n > have)
		n = have;
	for (unsigned i = log_next - n; i != log_next; i++)
		fprintf(stderr, "  %s\n", log_ring[i % LOG_LINES]);
}

/* The program libbpf last named as failing to load ("prog 'xdp_fwd': BPF program load failed"). */
static const char *failed_program(char *buf, size_t cap)
{
	for (unsigned i = log_next; i-- > 0 && log_next - i <= LOG_LINES;) {
		const char *l = log_ring[i % LOG_LINES];
		const char *p = strstr(l, "prog '");
		if (p && strstr(l, "failed")) {
			p += 6;
			size_t k = strcspn(p, "'");
			snprintf(buf, cap, "%.*s", (int)k, p);
			return buf;
		}
	}
	return NULL;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "cnperf-bpf: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* ---- namespaces: entered by name, as `ip netns` names them ---- */

static int enter_netns(const char *name, char *err, size_t cap)
{
	static char current[256];
	if (strcmp(current, name) == 0)
		return 0;
	if (strchr(name, '/') || !*name || name[0] == '.') {
		snprintf(err, cap, "namespace name '%s' is not a plain name", name);
		return -1;
	}
	char path[300];
	snprintf(path, sizeof path, "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		snprintf(err, cap, "cannot enter namespace %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(current, sizeof current, "%s", name);
	return 0;
}

static int ifindex_in(const char *netns, const char *dev, char *err, size_t cap)
{
	if (enter_netns(netns, err, cap) < 0)
		return -1;
	int i = (int)if_nametoindex(dev);
	if (i == 0)
		snprintf(err, cap, "no device %s in namespace %s", dev, netns);
	return i ? i : -1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	char tail;
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx%c", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5],
		      &tail) == 6 ? 0 : -1;
}

/* ---- load ---- */

/* The value of fwd_tc.bpf.c's `endpoints` map (same layout). */
struct endpoint {
	uint32_t ifindex;
	uint32_t flags;
	uint32_t nexthop;
	uint8_t dmac[6];
	uint8_t smac[6];
	uint32_t nexthop6[4];
};
#define EP_LOCAL 1

static int map_fd(struct bpf_object *obj, const char *name, char *err, size_t cap)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	if (!m)
		snprintf(err, cap, "the object has no map '%s' for this request", name);
	return m ? bpf_map__fd(m) : -1;
}

static int prog_fd(struct bpf_object *obj, const char *name, char *err, size_t cap)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
	if (!p)
		snprintf(err, cap, "the object has no program '%s'", name);
	return p ? bpf_program__fd(p) : -1;
}

static int update(int fd, const void *key, const void *value, char *err, size_t cap)
{
	if (bpf_map_update_elem(fd, key, value, BPF_ANY) == 0)
		return 0;
	snprintf(err, cap, "map update: %s", strerror(errno));
	return -1;
}

/* At DEV's ingress: tcx where the kernel has it (6.6+), else a clsact qdisc's ingress filter. The
 * attachment belongs to the device: it stays after this process exits and goes with the device. */
static const char *attach_tc(int ifindex, int fd, char *err, size_t cap)
{
	if (bpf_prog_attach(fd, ifindex, (enum bpf_attach_type)CNPERF_BPF_TCX_INGRESS, 0) == 0)
		return "tcx";
	if (errno != EINVAL) {
		snprintf(err, cap, "tcx attach: %s", strerror(errno));
		return NULL;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	int rc = bpf_tc_hook_create(&hook);
	if (rc < 0 && rc != -EEXIST) {
		snprintf(err, cap, "no tcx (kernel before 6.6), and creating a clsact qdisc failed: %s", strerror(-rc));
		return NULL;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd, .handle = 1, .priority = 1);
	rc = bpf_tc_attach(&hook, &opts);
	if (rc < 0) {
		snprintf(err, cap, "clsact ingress attach: %s", strerror(-rc));
		return NULL;
	}
	return "clsact";
}

/* One request; 0, or -1 with err filled in. */
static int apply(struct bpf_object *obj, char **f, int n, char *err, size_t cap)
{
	const char *op = f[0];
	int ifindex, fd, pfd;
	if (strcmp(op, "xdp") == 0 && n == 4) {
		if ((ifindex = ifindex_in(f[1], f[2], err, cap)) < 0 || (pfd = prog_fd(obj, f[3], err, cap)) < 0)
			return -1;
		if (bpf_xdp_attach(ifindex, pfd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL) < 0) {
			snprintf(err, cap, "native XDP attach of %s to %s: %s (%s)", f[3], f[2], strerror(errno),
				 log_next ? log_ring[(log_next - 1) % LOG_LINES] : "");
			return -1;
		}
		printf("attached\t%s\t%s\t%s\txdp-native\n", f[1], f[2], f[3]);
		return 0;
	}
	if (strcmp(op, "tc") == 0 && n == 4) {
		if ((ifindex = ifindex_in(f[1], f[2], err, cap)) < 0 || (pfd = prog_fd(obj, f[3], err, cap)) < 0)
			return -1;
		const char *hook = attach_tc(ifindex, pfd, err, cap);
		if (!hook)
			return -1;
		printf("attached\t%s\t%s\t%s\t%s\n", f[1], f[2], f[3], hook);
		return 0;
	}
	if (strcmp(op, "port") == 0 && n == 3) {
		/* a DEVMAP entry holds the device itself, looked up in the namespace of the updater */
		if ((ifindex = ifindex_in(f[1], f[2], err, cap)) < 0 || (fd = map_fd(obj, "ports", err, cap)) < 0)
			return -1;
		uint32_t k = (uint32_t)ifindex, v = (uint32_t)ifindex;
		return update(fd, &k, &v, err, cap);
	}
	if (strcmp(op, "fdb") == 0 && n == 4) {
		uint64_t key = 0;
		if (parse_mac(f[2], (uint8_t *)&key) < 0) {
			snprintf(err, cap, "'%s' is not a MAC address", f[2]);
			return -1;
		}
		if ((ifindex = ifindex_in(f[1], f[3], err, cap)) < 0 || (fd = map_fd(obj, "fdb", err, cap)) < 0)
			return -1;
		uint32_t v = (uint32_t)ifindex;
		return update(fd, &key, &v, err, cap);
	}
	if ((strcmp(op, "local") == 0 && n == 6) || (strcmp(op, "remote") == 0 && n == 5)) {
		struct endpoint ep;
		memset(&ep, 0, sizeof ep);
		uint8_t ip[16];
		const int v6 = strchr(f[2], ':') != NULL;
		if (inet_pton(v6 ? AF_INET6 : AF_INET, f[2], ip) != 1) {
			snprintf(err, cap, "'%s' is not an IPv4 or IPv6 address", f[2]);
			return -1;
		}
		if ((ifindex = ifindex_in(f[1], f[3], err, cap)) < 0 ||
		    (fd = map_fd(obj, v6 ? "endpoints6" : "endpoints", err, cap)) < 0)
			return -1;
		ep.ifindex = (uint32_t)ifindex;
		if (op[0] == 'l') {
			ep.flags = EP_LOCAL;
			if (parse_mac(f[4], ep.dmac) < 0 || parse_mac(f[5], ep.smac) < 0) {
				snprintf(err, cap, "'%s' or '%s' is not a MAC address", f[4], f[5]);
				return -1;
			}
		} else if (inet_pton(v6 ? AF_INET6 : AF_INET, f[4], v6 ? (void *)ep.nexthop6 : (void *)&ep.nexthop) != 1) {
			snprintf(err, cap, "next hop '%s' is not an %s address like %s", f[4], v6 ? "IPv6" : "IPv4", f[2]);
			return -1;
		}
		return update(fd, ip, &ep, err, cap);
	}
	snprintf(err, cap, "unknown request '%s' with %d fields", op, n);
	return -1;
}

static int cmd_load(const char *object, const char *pindir)
{
	struct bpf_object *obj = bpf_object__open_file(object, NULL);
	if (!obj)
		die("cannot open %s: %s (build it with 'npm run build')", object, strerror(errno));
	if (bpf_object__load(obj) < 0) {
		int e = errno;
		char name[128];
		const char *prog = failed_program(name, sizeof name);
		fprintf(stderr, "cnperf-bpf: program %s of %s was refused by the kernel (%s); the verifier's last lines:\n",
			prog ? prog : "(unknown)", object, strerror(e));
		print_log_tail(12);
		return 1;
	}
	if (mkdir(pindir, 0700) < 0 && errno != EEXIST)
		die("cannot create %s: %s (is a bpffs mounted above it?)", pindir, strerror(errno));
	char path[512];
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj)
	{
		snprintf(path, sizeof path, "%s/%s", pindir, bpf_map__name(m));
		if (bpf_map__pin(m, path) < 0)
			die("cannot pin map %s at %s: %s", bpf_map__name(m), path, strerror(errno));
	}
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj)
	{
		snprintf(path, sizeof path, "%s/prog_%s", pindir, bpf_program__name(p));
		if (bpf_program__pin(p, path) < 0)
			die("cannot pin program %s at %s: %s", bpf_program__name(p), path, strerror(errno));
	}
	char line[1024], err[512];
	for (unsigned no = 1; fgets(line, sizeof line, stdin); no++) {
		line[strcspn(line, "\n")] = 0;
		if (!*line)
			continue;
		char *f[8] = {0};
		int n = 0;
		for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && n < 8; t = strtok_r(NULL, "\t", &save))
			f[n++] = t;
		err[0] = 0;
		if (apply(obj, f, n, err, sizeof err) < 0) {
			fprintf(stderr, "cnperf-bpf: request %u (%s): %s\n", no, f[0], err);
			return 1;
		}
	}
	fflush(stdout);
	/* The programs stay attached and the maps pinned: closing the object drops only our references. */
	bpf_object__close(obj);
	return 0;
}

/* ---- stats ---- */

static const char *const xdp_names[] = XDP_COUNTER_NAMES;
static const char *const tc_names[] = TC_COUNTER_NAMES;
static const char *const xsk_names[] = XSK_COUNTER_NAMES;

static void print_counters(const char *pindir, const char *map, const char *const *names, unsigned count, int *first)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", pindir, map);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	int cpus = libbpf_num_possible_cpus();
	uint64_t *per_cpu = calloc((size_t)(cpus > 0 ? cpus : 1), sizeof *per_cpu);
	for (uint32_t k = 0; per_cpu && k < count; k++) {
		uint64_t sum = 0;
		if (bpf_map_lookup_elem(fd, &k, per_cpu) == 0)
			for (int c = 0; c < cpus; c++)
				sum += per_cpu[c];
		printf("%s\"%s\":%llu", *first ? "" : ",", names[k], (unsigned long long)sum);
		*first = 0;
	}
	free(per_cpu);
	close(fd);
}

static int cmd_stats(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d)
			die("cannot read %s: %s", argv[i], strerror(errno));
		printf("{\"dir\":\"%s\",\"programs\":[", argv[i]);
		int first = 1;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, "prog_", 5) != 0)
				continue;
			char path[512];
			snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
			int fd = bpf_obj_get(path);
			struct bpf_prog_info info;
			uint32_t len = sizeof info;
			memset(&info, 0, sizeof info);
			if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
				die("cannot read program %s: %s", path, strerror(errno));
			close(fd);
			printf("%s{\"name\":\"%s\",\"id\":%u,\"run_cnt\":%llu,\"run_time_ns\":%llu}", first ? "" : ",", e->d_name + 5,
			       info.id, (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns);
			first = 0;
		}
		closedir(d);
		printf("],\"counters\":{");
		first = 1;
		print_counters(argv[i], "xdp_actions", xdp_names, XDP_COUNTERS, &first);
		print_counters(argv[i], "tc_actions", tc_names, TC_COUNTERS, &first);
		print_counters(argv[i], "xsk_actions", xsk_names, XSK_COUNTERS, &first);
		printf("}}\n");
	}
	return 0;
}

static int cmd_stats_hold(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		die("cannot turn on BPF run statistics: %s", strerror(errno));
	printf("enabled\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0)
		;
	close(fd);
	return 0;
}

/* ---- probe ---- */

static void feature(const char *name, int yes, const char *detail)
{
	printf("%s\t%s\t%s\n", name, yes ? "yes" : "no", detail);
}

static int cmd_probe(void)
{
	struct utsname u;
	uname(&u);
	int major = 0, minor = 0;
	sscanf(u.release, "%d.%d", &major, &minor);
	int kv = major * 1000 + minor;
	char detail[256];

	feature("bpf", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCKET_FILTER, NULL) == 1,
		"the bpf() system call loads programs");
	int xdp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) == 1;
	snprintf(detail, sizeof detail, "XDP programs%s; native XDP on veth since 4.19 (kernel %s)",
		 xdp ? "" : " cannot be loaded", u.release);
	feature("xdp-veth", xdp && kv >= 4019, detail);
	feature("xdp-broadcast", libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_redirect_map, NULL) == 1 && kv >= 5013,
		"bpf_redirect_map with BPF_F_BROADCAST (5.13): the xdp datapath floods ARP with it");
	feature("redirect-peer", libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_peer, NULL) == 1,
		"bpf_redirect_peer (5.10)");
	feature("redirect-neigh", libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_neigh, NULL) == 1,
		"bpf_redirect_neigh (5.10)");
	/* A query changes nothing; a kernel without tcx does not know the attach type. */
	uint32_t flags = 0, cnt = 0;
	int tcx = bpf_prog_query(1, (enum bpf_attach_type)CNPERF_BPF_TCX_INGRESS, 0, &flags, NULL, &cnt) == 0;
	feature("tcx", tcx,
		tcx ? "tcx ingress (6.6)" : "no tcx (6.6): the tcx datapath attaches through a clsact qdisc instead");
	FILE *fs = fopen("/proc/filesystems", "r");
	int bpffs = 0;
	char line[128];
	while (fs && fgets(line, sizeof line, fs))
		if (strstr(line, "\tbpf\n"))
			bpffs = 1;
	if (fs)
		fclose(fs);
	feature("bpffs", bpffs, "the bpf filesystem (programs and maps are pinned in a mount of the run's own)");
	int s = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	feature("af-xdp", s >= 0, s >= 0 ? "AF_XDP sockets" : strerror(errno));
	if (s >= 0)
		close(s);
	feature("bpf-stats", access("/proc/sys/kernel/bpf_stats_enabled", F_OK) == 0,
		"kernel.bpf_stats_enabled: per-program run counts and times");
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(keep_log);
	if (argc == 2 && strcmp(argv[1], "version") == 0) {
		printf("%s\n", CNPERF_ENGINE_VERSION);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "load") == 0)
		return cmd_load(argv[2], argv[3]);
	if (argc >= 3 && strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[1], "stats-hold") == 0)
		return cmd_stats_hold();
	if (argc == 2 && strcmp(argv[1], "probe") == 0)
		return cmd_probe();
	fprintf(stderr, "usage: cnperf-bpf load OBJECT PINDIR < requests | stats PINDIR... | stats-hold | probe | version\n");
	return 2;
}
