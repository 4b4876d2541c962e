/* Command-line options of the engine. Parsing is pure (no side effects) so it is unit-tested. */
#ifndef CNPERF_ARGS_H
#define CNPERF_ARGS_H
#include <stdint.h>
#include <netinet/in.h>

enum wait_mode { WAIT_BLOCK = 0, WAIT_SPIN = 1 };
/* How the client waits for its next send time: sleep (clock_nanosleep, the CPU may idle) or spin
 * on the clock (the CPU never idles, as sockperf and poll-mode applications do). */
enum pace_mode { PACE_SLEEP = 0, PACE_SPIN = 1 };

struct opts {
	const char *netns;        /* NULL: stay in the current namespace */
	int cpu;                  /* -1: not pinned */
	int rt_prio;              /* 0: normal scheduling; 1..99: SCHED_FIFO */
	int mlock;                /* mlockall(); implied by rt_prio */
	enum wait_mode wait;
	enum pace_mode pace;
	struct sockaddr_in addr;  /* server: where to bind; client: where to send */
	int have_addr;
	uint32_t size;            /* UDP payload bytes */
	uint64_t count;           /* measured round trips */
	uint64_t warmup;          /* round trips sent first and discarded */
	uint64_t interval_ns;     /* 0: back to back */
	uint64_t timeout_ns;      /* reply deadline per packet */
	uint64_t max_consecutive_lost; /* 0: never give up */
	const char *raw_out;      /* NULL: no raw sample file */
};

#define RTT_HEADER_BYTES 16u
#define MAX_UDP_PAYLOAD 65507u
#define MAX_COUNT 100000000ull

/* Parses argv[first..argc). On error returns -1 and writes a one-line reason to err. */
int parse_opts(int argc, char **argv, int first, struct opts *o, char *err, size_t errlen);
void opts_defaults(struct opts *o);
int parse_u64(const char *s, uint64_t *out);
int parse_ipv4_port(const char *s, struct sockaddr_in *out);
int valid_netns_name(const char *s);

#endif
