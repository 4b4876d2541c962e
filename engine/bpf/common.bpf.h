/* Shared by cnperf's BPF programs: the action counters every program keeps. Each program counts
 * what it did in a per-CPU array (no atomics on the packet path); `cnperf-bpf stats` sums the CPUs
 * after the run. */
#ifndef CNPERF_COMMON_BPF_H
#define CNPERF_COMMON_BPF_H
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* "Dual MIT/GPL": the project's licence, and GPL-compatible for the kernel's GPL-only helpers. */
#define CNPERF_LICENSE char LICENSE[] SEC("license") = "Dual MIT/GPL"

/* Adds one to slot `i` of a per-CPU counter array. */
static __always_inline void count(void *map, __u32 i)
{
	__u64 *v = bpf_map_lookup_elem(map, &i);
	if (v)
		*v += 1;
}

#endif
