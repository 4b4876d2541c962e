#include "out.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct jbuf {
	char *p;
	size_t len, cap;
	int first;
};

static void put(struct jbuf *b, const char *s, size_t n)
{
	if (b->len + n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (b->len + n + 2 > cap)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			/* Out of memory while reporting: nothing sane to say on stdout. */
			_exit(70);
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct jbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_escaped(struct jbuf *b, const char *s)
{
	put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[8];
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			put(b, tmp, 2);
		} else if (c < 0x20) {
			snprintf(tmp, sizeof tmp, "\\u%04x", c);
			put(b, tmp, 6);
		} else {
			put(b, (const char *)&c, 1);
		}
	}
	put(b, "\"", 1);
}

static void key(struct jbuf *b, const char *k)
{
	if (!b->first)
		put(b, ",", 1);
	b->first = 0;
	put_escaped(b, k);
	put(b, ":", 1);
}

struct jbuf *ev_begin(const char *event)
{
	struct jbuf *b = calloc(1, sizeof *b);
	if (!b)
		_exit(70);
	b->first = 1;
	put(b, "{", 1);
	ev_str(b, "event", event);
	return b;
}

void ev_str(struct jbuf *b, const char *k, const char *v)
{
	key(b, k);
	if (v)
		put_escaped(b, v);
	else
		puts_(b, "null");
}

void ev_u64(struct jbuf *b, const char *k, uint64_t v)
{
	char tmp[32];
	key(b, k);
	snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	puts_(b, tmp);
}

void ev_i64(struct jbuf *b, const char *k, int64_t v)
{
	char tmp[32];
	key(b, k);
	snprintf(tmp, sizeof tmp, "%lld", (long long)v);
	puts_(b, tmp);
}

void ev_dbl(struct jbuf *b, const char *k, double v)
{
	char tmp[48];
	key(b, k);
	if (v != v) { /* NaN is not JSON */
		puts_(b, "null");
		return;
	}
	snprintf(tmp, sizeof tmp, "%.3f", v);
	puts_(b, tmp);
}

void ev_u64_array(struct jbuf *b, const char *k, const uint64_t *v, uint64_t n)
{
	char tmp[32];
	key(b, k);
	put(b, "[", 1);
	for (uint64_t i = 0; i < n; i++) {
		snprintf(tmp, sizeof tmp, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
		puts_(b, tmp);
	}
	put(b, "]", 1);
}

/* Sparse: {"sub_bits":11,"buckets":[[index,count],...]} with only non-empty buckets. */
void ev_hist(struct jbuf *b, const char *k, const struct hist *h)
{
	char tmp[64];
	key(b, k);
	snprintf(tmp, sizeof tmp, "{\"sub_bits\":%u,\"buckets\":[", HIST_SUB_BITS);
	puts_(b, tmp);
	int first = 1;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		if (!h->counts[i])
			continue;
		snprintf(tmp, sizeof tmp, "%s[%u,%llu]", first ? "" : ",", i,
			 (unsigned long long)h->counts[i]);
		puts_(b, tmp);
		first = 0;
	}
	puts_(b, "]}");
}

void ev_end(struct jbuf *b)
{
	put(b, "}\n", 2);
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(STDOUT_FILENO, b->p + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* reader gone: nothing to do */
		off += (size_t)n;
	}
	free(b->p);
	free(b);
}

void ev_error(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct jbuf *b = ev_begin("error");
	ev_str(b, "code", code);
	ev_str(b, "message", msg);
	ev_end(b);
}

void log_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cnperf-engine: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
