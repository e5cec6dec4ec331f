import { Agent, request } from 'node:http';

export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  /** Failures by the version that answered (x-version), or "proxy" / "network" when none did. */
  failuresBy: Map<string, number>;
  servedBy: Map<string, number>;
  latenciesMs: number[];
}

export interface LoadOptions {
  readonly url: string;
  readonly requestsPerSecond: number;
  readonly concurrency?: number;
  readonly method?: 'GET' | 'POST';
  /** Called for every failed request (status >= 500 or a network error). */
  readonly onFailure?: (who: string, status: number | string) => void;
}

/** Steady synthetic traffic over keep-alive connections, bounded by rate and stopped on demand. */
export class LoadGenerator {
  readonly stats: LoadStats = { sent: 0, ok: 0, failed: 0, failuresBy: new Map(), servedBy: new Map(), latenciesMs: [] };
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const concurrency = this.options.concurrency ?? 4;
    const intervalMs = (1000 * concurrency) / this.options.requestsPerSecond;
    for (let i = 0; i < concurrency; i++) {
      this.workers.push(
        (async () => {
          await sleep((intervalMs * i) / concurrency);
          while (this.running) {
            const started = performance.now();
            await this.once();
            await sleep(Math.max(0, intervalMs - (performance.now() - started)));
          }
        })(),
      );
    }
  }

  private once(): Promise<void> {
    const url = new URL(this.options.url);
    const started = performance.now();
    this.stats.sent++;
    return new Promise((resolve) => {
      const body = this.options.method === 'POST' ? JSON.stringify({ at: Date.now() }) : undefined;
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: this.options.method ?? 'GET',
          agent: this.agent,
          headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const who = String(res.headers['x-version'] ?? (res.headers['x-switchyard-proxy'] ? 'proxy' : 'unknown'));
            const status = res.statusCode ?? 0;
            this.stats.latenciesMs.push(performance.now() - started);
            if (status >= 500) this.fail(who, status);
            else {
              this.stats.ok++;
              this.stats.servedBy.set(who, (this.stats.servedBy.get(who) ?? 0) + 1);
            }
            resolve();
          });
          res.on('error', () => {
            this.fail('network', 'response error');
            resolve();
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        this.fail('network', error.code ?? error.message);
        resolve();
      });
      req.end(body);
    });
  }

  private fail(who: string, status: number | string): void {
    this.stats.failed++;
    this.stats.failuresBy.set(who, (this.stats.failuresBy.get(who) ?? 0) + 1);
    this.options.onFailure?.(who, status);
  }

  async stop(): Promise<LoadStats> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
    this.agent.destroy();
    return this.stats;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
