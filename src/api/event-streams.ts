import { NotFoundError, StreamCapacityError, TooManyStreamsError } from '../core/errors.js';
import { isTerminal } from '../core/phases.js';
import type { Release } from '../core/release.js';
import type { ReleaseChanges } from '../ports/release-store.js';
import { releaseView } from './views.js';

/**
 * Limits of the event streams (`GET /releases/{id}/events`). Where they come from: an attacker's
 * test of local mode, when one process still carried the API and the proxies, held 500 streams open
 * while each read the store every 500 ms, and every proxy slowed 30-66x. The proxies have their own
 * processes now; the API, the workflow and the store still share this one.
 */
export interface EventStreamOptions {
  /**
   * Open streams per client (see `clientKey`). A dashboard tab holds one; a browser holds at most six
   * connections to one host over HTTP/1.1, so a client with more than four streams starves its own
   * other requests anyway. @default 4
   */
  readonly perClient?: number;
  /**
   * Open streams in all: a team of 25 people with four tabs each, a fifth of the 500 that hurt; each
   * stream holds a socket, a file descriptor of the 1024 a process gets by default on Linux, which the
   * store, the logs and the data planes' sockets need too. @default 100
   */
  readonly total?: number;
  /**
   * Without a change feed (AWS: other Lambdas write releases), how often a release with open streams
   * is read: once per release for all its streams, not once per stream. @default 500 ms
   */
  readonly pollMs?: number;
  /** A comment line after this long without an event keeps proxies from closing a quiet stream. @default 15 s */
  readonly heartbeatMs?: number;
}

export const STREAM_DEFAULTS = { perClient: 4, total: 100, pollMs: 500, heartbeatMs: 15_000 } as const;

/**
 * What a stream sends next: the release as it is now (its view for nobody in particular, serialized once
 * for every stream to tell news from a repeat; each stream renders it for its caller), or a heartbeat.
 */
export type StreamMessage =
  { readonly kind: 'release'; readonly id: string; readonly data: string; readonly final: boolean; readonly release: Release } | { readonly kind: 'heartbeat' };

const HEARTBEAT: StreamMessage = { kind: 'heartbeat' };

/** One open stream of one release. */
export interface ReleaseWatch {
  /**
   * The next message: the latest release this stream has not sent (changes in between fold into it,
   * so a slow reader never holds up the others), a heartbeat after a quiet `heartbeatMs`, or
   * undefined once the watch is closed.
   */
  next(): Promise<StreamMessage | undefined>;
  /** Ends the watch and frees its place; safe to call more than once. */
  close(): void;
}

interface Watched {
  readonly id: string;
  latest?: { readonly seq: number; readonly updatedAt: string; readonly message: StreamMessage & { kind: 'release' } };
  seq: number;
  readonly watchers: Set<Watcher>;
  loading?: Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
}

class Watcher implements ReleaseWatch {
  private seen = 0;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly entry: Watched,
    readonly client: string,
    private readonly heartbeatMs: number,
    private readonly onClose: (watcher: Watcher) => void,
  ) {}

  /** Called by the hub after the release changed (or the watch closed). */
  notify(): void {
    this.wake?.();
  }

  async next(): Promise<StreamMessage | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const latest = this.entry.latest;
      if (latest && latest.seq > this.seen) {
        this.seen = latest.seq;
        return latest.message;
      }
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.heartbeatMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.wake = undefined;
      if (!woken && !this.closed) return HEARTBEAT;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.notify();
    this.onClose(this);
  }
}

export interface ReleaseStreamsDeps {
  /** The release as stored now (a consistent read), or undefined. */
  readonly read: (id: string) => Promise<Release | undefined>;
  /** Releases as this process writes them; without it each watched release is polled (once for all its streams). */
  readonly changes?: ReleaseChanges;
  readonly options?: EventStreamOptions;
}

/**
 * The live releases behind every open event stream. Each release is followed once, however many
 * streams it has: through one subscription to the store's changes where every writer is in this
 * process (local mode), else by one read per `pollMs` per release. Its view is serialized once per
 * change (or per read, without a feed) for all its streams. Streams are counted per client and in all, and refused past the limits
 * with an error that names the limit and what to do.
 */
export class ReleaseStreams {
  private readonly limits: Required<EventStreamOptions>;
  private readonly watched = new Map<string, Watched>();
  private readonly perClient = new Map<string, number>();
  private open = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: ReleaseStreamsDeps) {
    this.limits = { ...STREAM_DEFAULTS, ...deps.options };
  }

  /**
   * Opens a watch of release `id` for `client`, with the release as it is now as its first message.
   * Fails with TooManyStreamsError (429) or StreamCapacityError (503) past a limit, NotFoundError for
   * an unknown release; nothing is held open then.
   */
  async watch(id: string, client: string): Promise<ReleaseWatch> {
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.limits.perClient)
      throw new TooManyStreamsError(
        `this client already has ${mine} open event streams, the most one client may hold (${this.limits.perClient}); close one (a dashboard tab, a \`curl\`) or read GET /releases/${id} instead`,
      );
    if (this.open >= this.limits.total)
      throw new StreamCapacityError(
        `the server has ${this.open} open event streams, the most it serves (${this.limits.total}); retry in a minute, or read GET /releases/${id} meanwhile`,
      );
    // Counted before anything is awaited, so concurrent opens cannot pass the limits together.
    this.perClient.set(client, mine + 1);
    this.open++;
    let entry = this.watched.get(id);
    if (!entry) {
      entry = { id, seq: 0, watchers: new Set() };
      this.watched.set(id, entry);
      if (this.deps.changes && !this.unsubscribe) this.unsubscribe = this.deps.changes.watchReleases((release) => this.changed(release));
    }
    const watcher = new Watcher(entry, client, this.limits.heartbeatMs, (w) => this.closed(w));
    entry.watchers.add(watcher);
    try {
      // The first stream of a release reads it; the others share that read, or the view already made.
      if (!entry.latest) {
        entry.loading ??= this.load(entry);
        await entry.loading;
      }
      return watcher;
    } catch (error) {
      watcher.close();
      throw error;
    }
  }

  private async load(entry: Watched): Promise<void> {
    try {
      const release = await this.deps.read(entry.id);
      if (!release) throw new NotFoundError(`no release with id "${entry.id}"`);
      this.accept(entry, release);
      if (!this.deps.changes) this.poll(entry);
    } finally {
      entry.loading = undefined;
    }
  }

  /** Without a change feed: one read per `pollMs` for the release while it has streams and has not ended. */
  private poll(entry: Watched): void {
    if (entry.watchers.size === 0 || entry.latest?.message.final) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.deps
        .read(entry.id)
        .then((release) => release && this.accept(entry, release))
        // A failed read is tried again at the next interval, as the streams did before.
        .catch(() => undefined)
        .finally(() => this.poll(entry));
    }, this.limits.pollMs);
  }

  private changed(release: Release): void {
    const entry = this.watched.get(release.id);
    if (entry) this.accept(entry, release);
  }

  /**
   * News is a view that differs from the last one and is not older (a slower writer's report arriving
   * late). Not a newer updatedAt alone: two writes can share one (the same millisecond, or a virtual
   * clock that moves only when the workflow waits), and the second may be the release's end.
   */
  private accept(entry: Watched, release: Release): void {
    const known = entry.latest;
    if (known && release.updatedAt < known.updatedAt) return;
    const data = JSON.stringify(releaseView(release));
    if (known && data === known.message.data) return;
    entry.seq++;
    const message = { kind: 'release', id: release.updatedAt, data, final: isTerminal(release.phase), release } as const;
    entry.latest = { seq: entry.seq, updatedAt: release.updatedAt, message };
    for (const watcher of entry.watchers) watcher.notify();
  }

  private closed(watcher: Watcher): void {
    const { entry, client } = watcher;
    if (!entry.watchers.delete(watcher)) return;
    this.open--;
    const left = (this.perClient.get(client) ?? 1) - 1;
    if (left > 0) this.perClient.set(client, left);
    else this.perClient.delete(client);
    if (entry.watchers.size > 0) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.watched.delete(entry.id);
    if (this.watched.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
    }
  }
}
