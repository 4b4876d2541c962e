/** The options of the command itself: what is measured, and where its results go (part of OPTIONS). */
import { text, def } from './option-kit.js';

export const OUTPUT_OPTIONS = {
  // The command itself.
  workload: def<string>({
    type: 'string',
    for: 'output',
    value: 'rtt|stream|sweep|load|rr|crr',
    help: 'what to measure (default rtt; rr, crr: TCP transactions)',
    experiment: false,
    parse: text,
  }),
  json: def({
    type: 'boolean',
    for: 'output',
    help: 'one JSON document on stdout instead of tables',
    experiment: false,
  }),
  db: def<string>({
    type: 'string',
    for: 'output',
    value: 'FILE',
    help: 'the SQLite store (default cnperf-results/results.sqlite)',
    experiment: false,
    parse: text,
  }),
  'dry-run': def({
    type: 'boolean',
    for: 'output',
    help: 'print the commands (ip, nft, engine) a run would execute, and change nothing',
    experiment: false,
  }),
  help: def({ type: 'boolean', short: 'h', for: 'output', help: 'this text', experiment: false }),
  trace: def({
    type: 'boolean',
    for: 'output',
    help:
      'tracepoints and a perf profile: stack traversals per packet, softirq durations (CPU, softirq, ' +
      'IRQ and drop counters are always on)',
    experiment: false,
  }),
} as const;
