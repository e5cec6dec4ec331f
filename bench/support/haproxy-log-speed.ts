/**
 * What the HAProxy data plane spends reading one log line (haproxy-log.ts), and recording its latency,
 * in this process alone: chunks of 1,500 lines, as the ring is read every 100 ms at 15,000 requests/s.
 * Prints the fastest of 8 passes (the one least disturbed by the rest of the machine) and every pass.
 *
 *   npx tsx bench/support/haproxy-log-speed.ts
 */
import { LogLineReader } from '../../src/adapters/local/haproxy-log.js';
import { VersionMetrics } from '../../src/adapters/local/version-metrics.js';

const chunk = Buffer.from('40123,200,0,0,0,0,--,production\n'.repeat(1500));
const versionAt = new Map([[40123, 'v1']]);

for (const histogram of [false, true]) {
  const metrics = new VersionMetrics();
  let lines = 0;
  const reader = new LogLineReader(
    'production',
    (record) => {
      lines++;
      const version = versionAt.get(record.port);
      if (version !== undefined && histogram) metrics.recordLatency(version, record.active, 1_000_000);
    },
    'test',
  );
  const passes: number[] = [];
  for (let pass = 0; pass < 8; pass++) {
    const start = process.hrtime.bigint();
    lines = 0;
    for (let i = 0; i < 500; i++) reader.push(chunk);
    passes.push(Number(process.hrtime.bigint() - start) / lines);
  }
  console.log(
    `${histogram ? 'parse + latency histogram' : 'parse'}: ${Math.min(...passes).toFixed(0)} ns per line (passes: ${passes.map((p) => p.toFixed(0)).join(', ')})`,
  );
}
