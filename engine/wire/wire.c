/* cnperf-wire: applies a plan's kernel steps over rtnetlink in one process, instead of one `ip`
 * process per step (src/local/wire.ts is the other side). Requests on stdin, one per line, fields
 * separated by tabs; one answer per request on stdout, in order:
 *   ok            done
 *   ok gone       (deletions) there was nothing to delete
 *   err MESSAGE   failed: `apply` stops here and answers nothing more; `undo` goes on
 * Readiness: `wait-carrier NS DEV`, `wait-port NS DEV`, `wait-ports NS` register conditions (answered
 * ok at once); `wait MS` waits for all of them on link events and answers `ok ELAPSED_MS`, or one
 * `not-ready WHAT\tWHY` line per condition still unmet followed by `err timeout`.
 * Exit status: 0 when every request read was answered, 2 for a malformed request (a bug in cnperf). */
#define _GNU_SOURCE
#include "../version.h"
#include "ns.h"
#include "ops.h"
#include "ready.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FIELDS 12

static void usage(void)
{
	fprintf(stderr, "usage: cnperf-wire apply|undo < requests   (or: cnperf-wire version)\n"
			"requests, one per line, fields separated by tabs:\n");
	for (const struct op *o = OPS; o->name; o++)
		fprintf(stderr, "  %s %s\n", o->name, o->fields);
	fprintf(stderr, "  wait-carrier NS DEV | wait-port NS DEV | wait-ports NS | wait TIMEOUT_MS\n"
			"This binary is driven by cnperf; see src/local/wire.ts.\n");
}

/* A name, an address, a prefix or a number, as cnperf plans them (namespace names are checked
 * further where they become paths: ns.c). */
static int plain_field(const char *s)
{
	if (!*s || strlen(s) > 255)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("_.-:@+/", *s)))
			return 0;
	return 1;
}

/* Splits a request line at its tabs, in place. */
static int split(char *line, char *f[MAX_FIELDS])
{
	int n = 0;
	for (char *p = line, *tab; n < MAX_FIELDS; p = tab + 1) {
		f[n++] = p;
		if (!(tab = strchr(p, '\t')))
			break;
		*tab = '\0';
	}
	return n;
}

/* Namespace creations worth spreading over threads: fewer run one by one. */
#define PARALLEL_MIN 32

/* How many requests from `lines` on are well-formed `netns-add NAME`. */
static size_t namespace_run(char **lines, size_t n)
{
	size_t k = 0;
	while (k < n && strncmp(lines[k], "netns-add\t", 10) == 0 && !strchr(lines[k] + 10, '\t') &&
	       plain_field(lines[k] + 10))
		k++;
	return k;
}

/* Creates the namespaces of n `netns-add` lines at once and answers them in order; at the first
 * refusal it answers `err` and returns -1 (namespaces after it may exist: their undo is journaled
 * with the batch, so teardown finds them). */
static int add_namespaces(char **lines, int n, int threads)
{
	char **names = malloc((size_t)n * sizeof(*names));
	int *rc = malloc((size_t)n * sizeof(*rc));
	char(*err)[NL_ERR] = malloc((size_t)n * sizeof(*err));
	if (!names || !rc || !err) {
		fprintf(stderr, "cnperf-wire: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < n; i++)
		names[i] = lines[i] + 10;
	ns_add_many(names, n, threads, rc, err);
	int out = 0;
	for (int i = 0; i < n; i++) {
		if (rc[i] < 0) {
			printf("err %s\n", err[i]);
			out = -1;
			break;
		}
		printf("ok\n");
	}
	free(names);
	free(rc);
	free(err);
	return out;
}

static void report_not_ready(const char *what, const char *why) { printf("not-ready %s\t%s\n", what, why); }

static int wait_request(char **f, int n, char err[NL_ERR])
{
	if (strcmp(f[0], "wait") == 0) {
		if (n != 2) {
			snprintf(err, NL_ERR, "wait takes TIMEOUT_MS");
			return -EINVAL;
		}
		long ms = ready_wait(atol(f[1]), report_not_ready, err);
		if (ms == -ETIMEDOUT)
			return -ETIMEDOUT;
		if (ms < 0)
			return (int)ms;
		printf("ok %ld\n", ms);
		return 1;
	}
	enum want_kind kind = strcmp(f[0], "wait-carrier") == 0 ? WANT_CARRIER
			      : strcmp(f[0], "wait-port") == 0 ? WANT_PORT
			      : WANT_ALL_PORTS;
	if (n != (kind == WANT_ALL_PORTS ? 2 : 3)) {
		snprintf(err, NL_ERR, "%s takes %s", f[0], kind == WANT_ALL_PORTS ? "NS" : "NS DEV");
		return -EINVAL;
	}
	int rc = ready_want(kind, f[1], kind == WANT_ALL_PORTS ? NULL : f[2], err);
	if (rc < 0)
		return rc;
	printf("ok\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "version") == 0) {
		printf("%s\n", CNPERF_ENGINE_VERSION);
		return 0;
	}
	if (argc != 2 || (strcmp(argv[1], "apply") != 0 && strcmp(argv[1], "undo") != 0)) {
		usage();
		return 2;
	}
	int keep_going = strcmp(argv[1], "undo") == 0;
	if (ns_init() < 0) {
		fprintf(stderr, "cnperf-wire: cannot open this process's network namespace: %s\n", strerror(errno));
		return 1;
	}
	/* the whole batch first: a run of namespace creations is spread over threads */
	char **lines = NULL;
	size_t nlines = 0, cap_lines = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (nlines == cap_lines && !(lines = realloc(lines, (cap_lines = cap_lines * 2 + 64) * sizeof(*lines)))) {
			fprintf(stderr, "cnperf-wire: out of memory reading requests\n");
			return 1;
		}
		if (!(lines[nlines++] = strdup(line))) {
			fprintf(stderr, "cnperf-wire: out of memory reading requests\n");
			return 1;
		}
	}
	free(line);
	/* one thread per CPU; CNPERF_WIRE_THREADS sets it (1: one namespace at a time, for comparison) */
	long cpus = getenv("CNPERF_WIRE_THREADS") ? atol(getenv("CNPERF_WIRE_THREADS")) : sysconf(_SC_NPROCESSORS_ONLN);
	for (size_t i = 0; i < nlines;) {
		size_t run = namespace_run(lines + i, nlines - i);
		if (run >= PARALLEL_MIN && cpus > 1) {
			if (add_namespaces(lines + i, (int)run, (int)cpus) < 0 && !keep_going)
				break;
			i += run;
			continue;
		}
		char *f[MAX_FIELDS];
		int n = split(lines[i], f);
		const struct op *o = op_find(f[0]);
		int is_wait = strncmp(f[0], "wait", 4) == 0;
		/* every field but an alias's text is a name, an address or a number */
		int bad = 0;
		for (int k = 1; k < n; k++)
			if (!(o && strcmp(o->name, "link-alias") == 0 && k == 3) && !plain_field(f[k]))
				bad = k;
		if ((!o && !is_wait) || (o && n != o->nfields + 1) || bad) {
			fflush(stdout);
			fprintf(stderr, "cnperf-wire: line %zu: malformed request '%s'%s\n", i + 1, f[0],
				bad ? " (a field is not a plain name, address or number)" : "");
			usage();
			return 2;
		}
		i++;
		char err[NL_ERR] = "";
		int rc = is_wait ? wait_request(f, n, err) : o->fn(f + 1, err);
		if (rc < 0) {
			printf(rc == -ETIMEDOUT ? "err timeout\n" : "err %s\n", err);
			if (!keep_going)
				break;
		} else if (!is_wait) {
			printf(rc == 0 ? "ok gone\n" : "ok\n");
		}
	}
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	return fflush(stdout) == 0 ? 0 : 1;
}
