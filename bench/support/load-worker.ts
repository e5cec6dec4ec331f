/**
 * Steady load from a process of its own (so the process under test never shares its event loop):
 * `tsx bench/support/load-worker.ts <url> <rps> <seconds>` prints one JSON line of figures.
 */
import { percentile } from '../../src/core/percentile.js';
import { LoadGenerator } from '../../src/local/load.js';

const [url = '', rps = '50', seconds = '10'] = process.argv.slice(2);
/** A request slower than this counts as timed out (what a client with a 2 s budget sees). */
const TIMEOUT_MS = 2000;
const load = new LoadGenerator({ url, requestsPerSecond: Number(rps), concurrency: 4 });
load.start();
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const stats = await load.stop();
const sorted = [...stats.latenciesMs].sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    sent: stats.sent,
    failed: stats.failed,
    timeouts: sorted.filter((ms) => ms > TIMEOUT_MS).length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  })}\n`,
);
process.exit(0);
