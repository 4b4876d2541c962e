#ifndef CNPERF_AGENT_H
#define CNPERF_AGENT_H
/* `cnperf-engine agent --port DEV`: runs engines for the host inside a VM guest (agent.c). */
int agent_main(const char *port);
/* The engine's hello, with role "agent" (main.c). */
void agent_hello(void);
#endif
