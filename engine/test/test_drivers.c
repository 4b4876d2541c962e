/* The round-trip drivers (rtt_pingpong.c, rtt_openloop.c) over a scripted method of this file: no
 * socket, no network. Each probe's fate is written down (a reply after so many µs, none, refused, a
 * stray frame first), and the result event must count exactly that: lost, late, refused, duplicates,
 * stray. The open loop runs twice, matching replies in its sender (as for DPDK) and in a receiver
 * thread (as for sockets). */
#define _GNU_SOURCE
#include "check.h"
#include "out.h"
#include "rtt.h"
#include "rtt_method.h"
#include "sock.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NEVER UINT64_MAX
#define MAX_PROBES 16

/* One probe's fate. */
struct fate {
	uint64_t reply_after_us; /* NEVER: no reply */
	int refused;             /* the send is refused */
	int stray_first;         /* a frame of nobody's run arrives just before the reply */
	int twice;               /* the reply arrives twice */
	uint64_t stamped_late_us; /* the reply comes at the next poll, alone, stamped this long after its send */
};

static struct fate fates[MAX_PROBES];

struct scripted {
	uint64_t t_sent[MAX_PROBES]; /* 0: not sent */
	int delivered[MAX_PROBES];   /* replies handed out so far */
	int strays;
};
static struct scripted script;

static const char *scripted_refuse(const struct opts *o, enum rt_role role)
{
	(void)o;
	(void)role;
	return NULL;
}

static int scripted_open(const struct opts *o, enum rt_role role, uint32_t cookie, void **state,
			 union sockaddr_any *ready)
{
	(void)o;
	(void)role;
	(void)cookie;
	memset(&script, 0, sizeof script);
	memset(ready, 0, sizeof *ready);
	ready->v4.sin_family = AF_INET;
	*state = &script;
	return 0;
}

static int scripted_send(void *state, uint64_t seq, uint64_t *t_send)
{
	struct scripted *s = state;
	const uint64_t now = now_ns();
	__atomic_store_n(t_send, now, __ATOMIC_RELEASE);
	if (fates[seq].refused)
		return RT_REFUSED;
	__atomic_store_n(&s->t_sent[seq], now, __ATOMIC_RELEASE);
	return RT_OK;
}

/* Hands out a reply whose time has come (a stray frame first where the fate says so), stamped with the time it
 * arrived — its send plus its delay — not with when this poll ran: a VM that stalls the poller for a millisecond
 * must not turn a 20 µs reply into a late one (the open-loop checks failed so on a loaded host). */
static int scripted_poll(void *state, uint64_t deadline, struct rt_poll *p)
{
	(void)deadline;
	struct scripted *s = state;
	const uint64_t wall = now_ns();
	p->now = wall;
	p->n = p->other = 0;
	/* A late reply by its stamp, not by the wall clock: how late this VM's sender ran cannot hide it. */
	for (uint64_t i = 0; i < MAX_PROBES; i++) {
		const uint64_t sent = __atomic_load_n(&s->t_sent[i], __ATOMIC_ACQUIRE);
		if (sent && fates[i].stamped_late_us && !s->delivered[i]) {
			s->delivered[i] = 1;
			p->now = sent + fates[i].stamped_late_us * 1000;
			p->seq[p->n++] = i;
			return RT_OK;
		}
	}
	for (uint64_t i = 0; i < MAX_PROBES && p->n < RT_POLL_MAX; i++) {
		const uint64_t sent = __atomic_load_n(&s->t_sent[i], __ATOMIC_ACQUIRE);
		const struct fate *f = &fates[i];
		if (!sent || f->reply_after_us == NEVER || f->stamped_late_us || wall < sent + f->reply_after_us * 1000)
			continue;
		if (f->stray_first && !s->delivered[i] && !s->strays) {
			s->strays++;
			p->other = 1;
			return RT_OK; /* the reply itself comes with the next poll */
		}
		if (s->delivered[i] < (f->twice ? 2 : 1)) {
			s->delivered[i]++;
			p->seq[p->n++] = i;
			p->now = sent + f->reply_after_us * 1000;
			return RT_OK;
		}
	}
	if (!p->n && !p->other) {
		struct timespec ts = {0, 10000}; /* 10 µs: a receive call that waited for nothing */
		nanosleep(&ts, NULL);
	}
	return RT_OK;
}

static void scripted_close(void *state)
{
	(void)state;
}

static struct rtt_method scripted = {
	.api = "scripted",
	.refuse = scripted_refuse,
	.open = scripted_open,
	.send_probe = scripted_send,
	.poll_reply = scripted_poll,
	.close = scripted_close,
};

static struct opts base(uint64_t count)
{
	struct opts o;
	opts_defaults(&o);
	o.count = count;
	o.warmup = 0;
	o.timeout_ns = 1000000ull; /* 1 ms */
	o.interval_ns = 0;
	o.max_consecutive_lost = 0;
	return o;
}

/* Runs a driver with stdout in a file; the result event's text into out. */
static void run(int (*driver)(const struct opts *, const struct rtt_method *), const struct opts *o, char *out,
		size_t cap)
{
	char path[] = "/tmp/cnperf-test-drivers-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	const int rc = driver(o, &scripted);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	CHECK(rc == 0);
	const ssize_t n = pread(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	char *result = strstr(out, "\"event\":\"result\"");
	CHECK(result != NULL);
	if (result)
		memmove(out, result, strlen(result) + 1);
}

static int has(const char *out, const char *field)
{
	if (strstr(out, field))
		return 1;
	fprintf(stderr, "expected %s in %s\n", field, out);
	return 0;
}

static void fates_all(uint64_t after_us)
{
	for (int i = 0; i < MAX_PROBES; i++)
		fates[i] = (struct fate){.reply_after_us = after_us};
}

/* 250 slots 1 ms apart after 5 ms of warm-up, RTTs 1..100 µs repeating, slot 150 lost: three windows. */
static int timeline_driver(const struct opts *o, const struct rtt_method *m)
{
	(void)o, (void)m;
	static int64_t samples[250];
	static uint64_t at[250];
	for (int i = 0; i < 250; i++) {
		samples[i] = i == 150 ? RAW_LOST : (i % 100 + 1) * 1000;
		at[i] = 1000000000ull + (uint64_t)i * 1000000ull;
	}
	struct jbuf *b = ev_begin("result");
	rtt_timeline(b, samples, at, 250, 1000000000ull - 5000000ull, RTT_TIMELINE_WINDOW_NS);
	ev_end(b);
	return 0;
}

int main(void)
{
	static char out[1 << 16];

	/* Ping-pong, 10 probes, timeout 50 ms (a loaded host stalls a poller for milliseconds: a 1 ms timeout lost
	 * 20 µs replies there): 3 gets no reply, 5's reply comes after a stray frame, 7 is refused, 8's reply comes
	 * after 60 ms (lost) and is seen while 9 waits (late), 9's never. */
	fates_all(5);
	fates[3].reply_after_us = NEVER;
	fates[5].stray_first = 1;
	fates[7].refused = 1;
	fates[8].reply_after_us = 60000; /* 9 is sent ~50 ms after 8 and waits 50 ms: 8's reply comes meanwhile */
	fates[9].reply_after_us = NEVER;
	struct opts o = base(10);
	o.timeout_ns = 50000000ull;
	run(rtt_ping_pong, &o, out, sizeof out);
	CHECK(has(out, "\"timing\":\"send\""));
	CHECK(has(out, "\"sent\":9,"));
	CHECK(has(out, "\"attempted\":10,"));
	CHECK(has(out, "\"received\":6,"));
	CHECK(has(out, "\"lost\":4,")); /* 3, 7, 8 and 9 */
	CHECK(has(out, "\"late\":2,")); /* the stray frame before 5, and 8's reply during 9's wait */
	CHECK(has(out, "\"refused\":1,"));
	CHECK(has(out, "\"api\":\"scripted\""));

	/* The timeline: windows by the slots' start times, exact nearest-rank percentiles per window. */
	run(timeline_driver, &o, out, sizeof out);
	CHECK(has(out, "\"timeline_warmup_ns\":5000000,"));
	CHECK(has(out, "\"timeline_t_ns\":[5000000,105000000,205000000]"));
	CHECK(has(out, "\"timeline_n\":[100,100,50]"));
	CHECK(has(out, "\"timeline_lost\":[0,1,0]"));
	CHECK(has(out, "\"timeline_p50_ns\":[50000,50000,25000]"));
	CHECK(has(out, "\"timeline_p90_ns\":[90000,91000,45000]"));
	CHECK(has(out, "\"timeline_p99_ns\":[99000,100000,50000]"));
	CHECK(has(out, "\"timeline_max_ns\":[100000,100000,50000]"));

	/* Open loop, 10 probes every 100 µs, timeout 50 ms: 3 gets no reply, 5's reply comes twice, 2's is
	 * stamped 60 ms after its send (late), 6 is refused, a stray frame before 4's reply. Matched in the
	 * sender, then by a receiver thread. */
	for (int threaded = 0; threaded <= 1; threaded++) {
		fates_all(20);
		fates[3].reply_after_us = NEVER;
		fates[5].twice = 1;
		fates[2].stamped_late_us = 60000;
		fates[6].refused = 1;
		fates[4].stray_first = 1;
		scripted.rx_thread = threaded;
		o = base(10);
		o.open_loop = 1;
		o.interval_ns = 100000;
		/* 50 ms: the run waits that long for its last replies, so a host that stalls the poller for a few ms
		 * (a loaded CI machine) cannot drop them; the late one is stamped past it */
		o.timeout_ns = 50000000ull;
		run(rtt_open_loop, &o, out, sizeof out);
		CHECK(has(out, "\"timing\":\"open-loop\""));
		CHECK(has(out, "\"sent\":9,"));
		CHECK(has(out, "\"attempted\":10,"));
		CHECK(has(out, "\"received\":7,")); /* all but 2 (late), 3 (none) and 6 (refused) */
		CHECK(has(out, "\"late\":1,"));
		CHECK(has(out, "\"refused\":1,"));
		CHECK(has(out, "\"duplicates\":1,"));
		CHECK(has(out, "\"stray\":1,"));
	}
	return check_done("drivers");
}
