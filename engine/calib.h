/* Self-calibration: what this machine lets cnperf see (cnperf calibrate). */
#ifndef CNPERF_CALIB_H
#define CNPERF_CALIB_H
#include "args.h"

/* The cost of a clock read: --count reads of CLOCK_MONOTONIC and of CLOCK_REALTIME, back to back. */
int calib_clock(const struct opts *o);
/* Timer lateness as cyclictest measures it: sleep to absolute wake-ups every --interval-ns, --count
 * times, and histogram how late each wake-up was against its planned time. */
int calib_timer(const struct opts *o);
/* Noise: spin on the clock for --duration-ns and histogram every gap between consecutive reads longer
 * than 1 µs (the CPU was taken away: interrupt, softirq, another task, the hypervisor). */
int calib_noise(const struct opts *o);

#endif
