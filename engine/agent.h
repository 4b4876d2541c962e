#ifndef CNPERF_AGENT_H
#define CNPERF_AGENT_H
/* `cnperf-engine agent --port DEV`: runs engines for the host inside a VM guest (agent.c). Engines are
 * `exe` started with the host's arguments; `hello` writes the agent's hello event to stdout. Returns
 * only when the port fails. */
int agent_main(const char *port, const char *exe, void (*hello)(void));
#endif
