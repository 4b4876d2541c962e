/* Command-line options of the engine. Parsing is pure (no side effects) so it is unit-tested. */
#ifndef CNPERF_ARGS_H
#define CNPERF_ARGS_H
#include <stdint.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <sys/socket.h>

/* yield: a poll-mode (DPDK) engine that found nothing gives its CPU away (sched_yield) before polling
 * again, so pollers can share CPUs. Only with --api dpdk (main.c's check_opts refuses it otherwise). */
enum wait_mode { WAIT_BLOCK = 0, WAIT_SPIN = 1, WAIT_YIELD = 2 };
/* How the client waits for its next send time: sleep (clock_nanosleep, the CPU may idle) or spin
 * on the clock (the CPU never idles, as sockperf and poll-mode applications do). */
/* yield: check the clock, and give the CPU away until the time comes (a DPDK sender sharing its CPU
 * with the receiver: spinning would starve it, sleeping overshoots by the timer slack). */
enum pace_mode { PACE_SLEEP = 0, PACE_SPIN = 1, PACE_YIELD = 2, PACE_AUTO = 3 };
const char *pace_name(enum pace_mode p);
/* How stream-tx sends (seed 001, Table 1) and, mirrored, how stream-rx receives. */
enum stream_api { API_SEND = 0, API_SENDMMSG, API_RAW, API_RAW_MMSG, API_TCP, API_XDP, API_RAW_RING, API_DPDK,
		 API_GSO };

/* An IPv4 or IPv6 socket address: what --bind, --server and --src name. */
union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};
static inline socklen_t sa_len(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof a->v6 : sizeof a->v4;
}
static inline uint16_t sa_port(const union sockaddr_any *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->v6.sin6_port : a->v4.sin_port);
}
static inline void sa_set_port(union sockaddr_any *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->v6.sin6_port = htons(port);
	else
		a->v4.sin_port = htons(port);
}
/* "198.18.0.1" or "2001:2::1" into buf (INET6_ADDRSTRLEN bytes). */
const char *sa_host(const union sockaddr_any *a, char *buf, size_t cap);

struct opts {
	const char *netns;        /* NULL: stay in the current namespace */
	int cpu;                  /* -1: not pinned */
	int rt_prio;              /* 0: normal scheduling; 1..99: SCHED_FIFO */
	int mlock;                /* mlockall(); implied by rt_prio */
	enum wait_mode wait;
	enum pace_mode pace;
	union sockaddr_any addr;  /* server: where to bind; client: where to send (IPv4 or IPv6) */
	int have_addr;
	uint32_t size;            /* UDP payload bytes */
	uint64_t count;           /* measured round trips */
	uint64_t warmup;          /* round trips sent first and discarded */
	uint64_t interval_ns;     /* 0: back to back */
	uint64_t timeout_ns;      /* reply deadline per packet */
	uint64_t max_consecutive_lost; /* 0: never give up */
	const char *raw_out;      /* NULL: no raw sample file */
	const char *stamps_out;   /* NULL: no per-packet timestamps (round-trip breakdown) */
	int open_loop;            /* rtt-client: send on schedule, never wait for replies (rtt_openloop.c) */

	/* stream-tx / stream-rx */
	enum stream_api api;
	uint32_t burst;           /* datagrams per send burst (and per recvmmsg) */
	uint64_t rate_pps;        /* 0: as fast as possible */
	uint64_t duration_ns;
	const char *dev;          /* raw APIs: the interface frames are sent on */
	uint8_t dst_mac[6];       /* raw APIs: the next hop's MAC address */
	int have_dst_mac;
	union sockaddr_any src;   /* raw APIs: source address:port written into the frames (--addr's family) */
	int have_src;
	int qdisc_bypass;         /* raw APIs: PACKET_QDISC_BYPASS */
	uint64_t rcvbuf;          /* stream-rx: SO_RCVBUFFORCE bytes; 0 = the kernel's default */
	uint64_t sndbuf;          /* stream-tx: SO_SNDBUFFORCE bytes; 0 = the kernel's default */
	const char *congestion;   /* stream-tx --api tcp: TCP_CONGESTION; NULL = the kernel's default */
	int zerocopy;             /* stream-tx --api tcp: send with MSG_ZEROCOPY (SO_ZEROCOPY) */
	uint32_t xdp_frames;      /* xdp: UMEM frames of 2 KiB (power of two) */
	uint32_t xdp_ring;        /* xdp: entries of each AF_XDP ring (power of two, < xdp_frames) */

	/* dpdk (cnperf-engine-dpdk): a virtio-user port on a vhost-user socket */
	const char *vhost_socket; /* the switch's vhost-user socket */
	int vhost_server;         /* the port is the vhost-user server (OVS-DPDK's dpdkvhostuserclient ports connect) */
	uint8_t mac[6];           /* the port's own MAC */
	int have_mac;
	const char *file_prefix;  /* EAL --file-prefix: the run's, so its runtime files are found and removed */
	const char *huge_dir;     /* EAL --huge-dir: the run's hugetlbfs mount */

	/* rr-client / rr-server (tcp_rr.c) */
	uint32_t response_size;   /* response bytes per transaction (--size is the request) */
	uint32_t flows;           /* rr-client: connections with one transaction in flight each */
	int crr;                  /* rr-client: a new connection per transaction (TCP_CRR) */
};

#define RTT_HEADER_BYTES 16u
#define MAX_FLOWS 4096u
#define MAX_UDP_PAYLOAD 65507u
/* A TCP stream's write: up to 1 MiB (iperf3 writes 128 KiB). */
#define MAX_TCP_WRITE (1u << 20)
#define MAX_COUNT 100000000ull

/* Parses argv[first..argc). On error returns -1 and writes a one-line reason to err. */
int parse_opts(int argc, char **argv, int first, struct opts *o, char *err, size_t errlen);
void opts_defaults(struct opts *o);
/* -1 with a reason when a command that talks to a peer was given no address. */
/* -1 with a reason when --size leaves no room for the UDP commands' header (TCP transactions take 1 byte). */
int opts_check_udp_size(const struct opts *o, char *err, size_t errlen);
int opts_require_addr(const struct opts *o, char *err, size_t errlen);
int parse_u64(const char *s, uint64_t *out);
/* IPV4:PORT or [IPV6]:PORT */
int parse_addr_port(const char *s, union sockaddr_any *out);
int valid_netns_name(const char *s);
int parse_mac(const char *s, uint8_t mac[6]);
const char *api_name(enum stream_api a);
#define MAX_BURST 1024u

#endif
