/* The action counters of cnperf's BPF programs: slot numbers shared by the programs (which count)
 * and cnperf-bpf (which names them in `stats`). Plain C: included by both sides. */
#ifndef CNPERF_BPF_COUNTERS_H
#define CNPERF_BPF_COUNTERS_H

/* fwd_xdp.bpf.c, map xdp_actions */
enum { XDP_FWD_REDIRECT, XDP_FWD_FLOOD, XDP_FWD_PASS, XDP_FWD_DROP, XDP_PEER_PASS, XDP_COUNTERS };
#define XDP_COUNTER_NAMES {"redirect", "flood", "pass", "drop", "peer_pass"}

/* fwd_tc.bpf.c, map tc_actions */
enum { TC_FWD_PEER, TC_FWD_NEIGH, TC_FWD_PASS, TC_FWD_DROP, TC_COUNTERS };
#define TC_COUNTER_NAMES {"redirect_peer", "redirect_neigh", "pass", "drop"}

/* xsk_redirect.bpf.c (the engine's AF_XDP receiver), map xsk_actions */
enum { XSK_REDIRECT, XSK_PASS, XSK_COUNTERS };
#define XSK_COUNTER_NAMES {"redirect_xsk", "pass"}

#endif
