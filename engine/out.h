/* NDJSON events on stdout: one object per line, written with a single write() so a reader
 * never sees half an event. Never called from a measurement loop. */
#ifndef CNPERF_OUT_H
#define CNPERF_OUT_H
#include <stdint.h>
#include "hist.h"

struct jbuf;

struct jbuf *ev_begin(const char *event);
void ev_str(struct jbuf *b, const char *key, const char *val);   /* val NULL -> null */
void ev_u64(struct jbuf *b, const char *key, uint64_t val);
void ev_i64(struct jbuf *b, const char *key, int64_t val);
void ev_dbl(struct jbuf *b, const char *key, double val);
void ev_hist(struct jbuf *b, const char *key, const struct hist *h);
void ev_u64_array(struct jbuf *b, const char *key, const uint64_t *v, uint64_t n);
void ev_end(struct jbuf *b);

/* Convenience: {"event":"error","code":code,"message":msg} */
void ev_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs go to stderr, never stdout (stdout is the protocol). */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
