import { serve, type ServerType } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { DataPlaneChoice } from '../config/schema.js';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalDynamo, type LocalDynamo } from '../adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore } from '../adapters/dynamodb/dynamo-store.js';
import { DataPlaneTarget, socketPathFor } from '../adapters/local/data-plane-client.js';
import { ProcessRecords, reapOrphans } from '../adapters/local/process-records.js';
import { dashboardFiles } from '../ui/page.js';
import type { LogQuery, VersionLogs } from '../ports/logs.js';
import { createApp } from '../api/app.js';
import { bearerAuthenticator } from '../api/auth.js';
import { readSwitchyardLog, readVersionLogs } from '../adapters/local/log-reader.js';
import { servicesUser } from '../adapters/local/run-as.js';
import { claimDataDir } from '../adapters/local/instance-lock.js';
import { assertPrivate } from '../adapters/local/private-path.js';
import { localToken } from '../adapters/local/local-token.js';
import type { ServiceConfig, SwitchyardConfig } from '../config/config.js';
import { messageOf } from '../core/errors.js';
import { createLocalRuntime, type LocalRuntime } from './local-runtime.js';
import { mountSlackInteractions } from '../api/slack.js';
import { withSlack } from './slack.js';
import { FileLog } from '../adapters/log/file-log.js';
import { systemClock } from '../ports/clock.js';
import { envWebhookSecrets, missingWebhookSecrets, withWebhookGates } from './webhooks.js';
import type { MetricsSource } from '../ports/metrics-source.js';

/**
 * The data directory exists and takes writes, or start stops here with what is wrong and what to
 * do: never a stack trace, and never a failure later, mid-release, on the first write.
 */
function usableDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const probe = join(dataDir, `.write-test-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(
      `the data directory ${dataDir} cannot be written (${code}: ${messageOf(error)}); pass --data-dir with a writable directory, or --in-memory to keep nothing`,
    );
  }
  // Records in it name processes to stop: a folder another user owns (or swapped in) could name any process.
  const stat = statSync(dataDir);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid)
    throw new Error(`the data directory ${dataDir} belongs to uid ${stat.uid}, not to you (uid ${uid}); pass --data-dir with a directory of your own`);
  // The store, Switchyard's log and the services' logs are Switchyard's alone: services (another user
  // when Switchyard is root) must not read them. Only group and others lose their bits.
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) chmodSync(dataDir, mode & 0o700);
  for (const inner of ['processes', 'run']) assertPrivate(join(dataDir, inner), 'directory', `the data directory's ${inner} folder`);
}

/** Loopback names only, with any port: what a browser sends for the local API, never a rebinding page's name. */
/** Each person's own local token, from the environment variable the config names; a missing one is a clear error. */
export function personTokens(people: SwitchyardConfig['people'], env: Readonly<Record<string, string | undefined>>): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const p of people) {
    if (!p.localToken) continue;
    const value = env[p.localToken];
    if (!value) throw new Error(`people: ${p.name}'s token is read from $${p.localToken}, which is not set; set it (or remove localToken) and start again`);
    if (value.length < 16) throw new Error(`people: $${p.localToken} (${p.name}'s token) must be at least 16 characters`);
    if (tokens.has(value)) throw new Error(`people: ${p.name} and ${tokens.get(value)} have the same token; each person needs their own`);
    tokens.set(value, p.name);
  }
  return tokens;
}

/** True for an error the on-disk store raised because the disk failed (full, read-only, gone). */
export function isStorageFault(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  return code === 'LEVEL_IO_ERROR' || code === 'ENOSPC' || code === 'EROFS' || code === 'EDQUOT' || /No space left on device/.test(error.message);
}

/**
 * Catches the store's disk failures that dynalite throws from a callback (nothing else can catch
 * them) and hands them to `onFault`; any other uncaught exception still ends the process, as Node
 * would. Returns the function that removes the guard.
 */
function guardStorageFaults(onFault: (error: Error) => void): () => Promise<void> {
  const guard = (error: unknown) => {
    if (isStorageFault(error)) return onFault(error);
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', guard);
  return async () => {
    process.off('uncaughtException', guard);
  };
}

export function loopbackHost(host: string): boolean {
  return /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i.test(host);
}

/** The local defaults (a contract: scripts and people rely on them). */
export const LOCAL_DEFAULTS = { apiPort: 8787, host: '127.0.0.1', dataDir: '.switchyard' } as const;

export interface LocalModeOptions {
  readonly config: SwitchyardConfig;
  /** Where people's own tokens are read (people[].localToken names a variable). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** API port; 0 picks a free one. */
  readonly port?: number;
  readonly dataDir?: string;
  /** Keep nothing: the store in memory, logs in a temporary folder removed at stop. */
  readonly inMemory?: boolean;
  /** Bearer token for mutating calls; generated when absent. */
  readonly token?: string;
  /** Bind every proxy to free ports instead of the configured ones (tests). */
  readonly ephemeralPorts?: boolean;
  /** The data plane of every local service whose config names none (`switchyard local --data-plane`). @default the built-in proxy */
  readonly dataPlane?: DataPlaneChoice;
  readonly onWarning?: (message: string) => void;
  /** Slack app secrets (from SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN); Slack is off without them. */
  readonly slack?: { readonly signingSecret?: string; readonly botToken?: string; readonly apiUrl?: string };
}

export interface LocalMode {
  readonly apiUrl: string;
  readonly token: string;
  readonly tokenGenerated: boolean;
  /** Where the token is kept across restarts (absent when it came from the caller or the run keeps nothing). */
  readonly tokenFile?: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly targets: ReadonlyMap<string, DataPlaneTarget>;
  readonly runtime: LocalRuntime;
  readonly services: readonly ServiceConfig[];
  /** Slack notifications and buttons are on. */
  readonly slack: boolean;
  /** Drains and stops everything, the services' data planes included; releases in flight are recovered at the next start. */
  stop(): Promise<void>;
  /**
   * Stops Switchyard and leaves the data planes serving the weights they have (a restart of
   * Switchyard: the next start re-attaches; in-memory runs' data planes stop with it).
   */
  detach(): Promise<void>;
}

/**
 * Starts Switchyard on one machine: the store (dynalite), the workflow engine, the proxy and the
 * processes of every local service, and the HTTP API.
 */
export async function startLocalMode(options: LocalModeOptions): Promise<LocalMode> {
  // Checked before anything starts: a missing person's token must not leave processes behind.
  const ownTokens = personTokens(options.config.people, options.env ?? process.env);
  const dataDir = options.inMemory ? mkdtempSync(join(tmpdir(), 'switchyard-')) : resolve(options.dataDir ?? LOCAL_DEFAULTS.dataDir);
  usableDataDir(dataDir);
  const log = new FileLog(join(dataDir, 'switchyard.log'));
  const services = options.config.services.filter((s) => s.target.driver === 'local');
  const skipped = options.config.services.filter((s) => s.target.driver !== 'local').map((s) => s.name);
  if (skipped.length > 0) options.onWarning?.(`local mode runs only services with driver "local"; skipping ${skipped.join(', ')}`);
  if (services.length === 0) throw new Error('the config has no service with driver "local"; see examples/local/switchyard.config.ts');

  // One Switchyard per data directory: a second one would share the store and steal the data planes.
  const claim = claimDataDir(dataDir);
  const cleanups: (() => Promise<void>)[] = [];
  // Set by detach(): the data planes are let go, still serving, instead of stopped.
  let detaching = false;
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const dynamo: LocalDynamo = await startLocalDynamo(options.inMemory ? {} : { path: join(dataDir, 'db') });
    cleanups.push(() => dynamo.close());
    // The store on disk throws from its own callbacks when a write fails (a full disk): do not die
    // with production behind the proxy; put traffic back on the stable versions and say so.
    let storageFault: string | undefined;
    const onFault = (error: Error) => {
      if (storageFault !== undefined) return;
      storageFault = error.message;
      for (const target of targets.values()) target.holdStable();
      log.error('the data directory failed; releases cannot be recorded', { error: error.message });
      options.onWarning?.(
        `the data directory ${dataDir} failed (${error.message}): releases can no longer be recorded, so production traffic is back on each service's stable version and stays there; the proxy keeps serving. Free space (or fix the disk) and restart Switchyard: releases in flight are then marked interrupted.`,
      );
    };
    if (!options.inMemory) cleanups.push(guardStorageFaults(onFault));
    const baseStore = new DynamoReleaseStore(dynamo.client, dynamo.tableName);
    const slackApiUrl = options.slack?.apiUrl ?? options.config.slack?.apiUrl;
    const { store, notifier } = withSlack(baseStore, {
      secrets: options.slack,
      services,
      environment: options.config.environment,
      log,
      ...(slackApiUrl ? { apiUrl: slackApiUrl } : {}),
    });

    // Processes a Switchyard before data planes left running (flat records) would hold ports, and
    // what killed in-memory runs left (per-user records whose owner is gone).
    const reaped = [...new ProcessRecords(join(dataDir, 'processes')).reap(), ...reapOrphans()];
    if (reaped.length > 0) {
      options.onWarning?.(
        `stopped ${reaped.length} service process(es) left running by a previous run: ${reaped.map((r) => `${r.service} ${r.version} (pid ${r.pid})`).join(', ')}`,
      );
    }
    const runAs = servicesUser(services, options.onWarning);
    const logDir = join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const lastLines = (service: string) => async (version: string) =>
      (await readVersionLogs(logDir, { service, version, limit: 8 })).map((l) => `${l.stream}: ${l.message}`);
    const targets = new Map<string, DataPlaneTarget>();
    for (const svc of services) {
      if (svc.target.driver !== 'local') continue;
      const config = svc.target.dataPlane || !options.dataPlane ? svc.target : { ...svc.target, dataPlane: options.dataPlane };
      const target = new DataPlaneTarget({
        service: svc.name,
        config,
        // As root, a long path's socket goes under /run (root's alone), not the temporary directory, where
        // any user could make the folder first and keep the service off the air.
        socketPath: socketPathFor(dataDir, svc.name, process.getuid?.() === 0 && existsSync('/run') ? '/run' : tmpdir()),
        logDir,
        recordsDir: join(dataDir, 'processes', svc.name),
        planeLog: join(dataDir, 'run', `${svc.name}.log`),
        ephemeral: options.inMemory === true,
        ...(options.ephemeralPorts ? { ephemeralPorts: true } : {}),
        ...(runAs.get(svc.name) ? { runAs: runAs.get(svc.name) } : {}),
        stableVersion: async () => (await store.getStable(svc.name)) ?? config.initialVersion,
        lastLines: lastLines(svc.name),
        onProblem: (message) => options.onWarning?.(message),
        log,
      });
      targets.set(svc.name, target);
      cleanups.push(() => (detaching ? target.detach() : target.stop()));
    }
    // Every service on its own: one that cannot serve is reported by name and retried while the others serve.
    const started = await Promise.allSettled([...targets.values()].map((t) => t.start()));
    const attached = [...targets.keys()].filter((_, i) => started[i]?.status === 'fulfilled' && started[i].value === 'attached');
    if (attached.length > 0) options.onWarning?.(`re-attached to the data planes still serving ${attached.join(', ')}: their traffic never stopped`);
    const targetOf = (svc: ServiceConfig) => {
      const target = targets.get(svc.name);
      if (!target) throw new Error(`service ${svc.name} has no local target`);
      return target;
    };
    const versionLogs: VersionLogs = async (query) =>
      query.version === 'switchyard' && query.release
        ? readSwitchyardLog(join(dataDir, 'switchyard.log'), query.release.id, query)
        : readVersionLogs(logDir, query);
    // Known once the API listens (its port may be picked by the system).
    const api: { address?: string } = {};
    const logsLink = async (query: LogQuery) => (api.address && query.release ? `${api.address}/ui#/releases/${query.release.id}/logs` : undefined);
    // Webhook gates are called from here, the control plane, with their secrets from the environment.
    const env = options.env ?? process.env;
    for (const missing of missingWebhookSecrets(services, env)) options.onWarning?.(missing);
    const testUrl = (release: { service: string }) => {
      const port = targets.get(release.service)?.proxy.testPortBound;
      return port === undefined ? undefined : `http://${LOCAL_DEFAULTS.host}:${port}/`;
    };
    const sources = new Map<string, MetricsSource>();
    const metricsOf = (svc: ServiceConfig): MetricsSource => {
      let source = sources.get(svc.name);
      if (!source) {
        source = withWebhookGates(svc, targetOf(svc), { secretOf: envWebhookSecrets(env), environment: options.config.environment, testUrl });
        sources.set(svc.name, source);
      }
      return source;
    };
    const runtime = createLocalRuntime({ services, store, clock: systemClock, driverFor: targetOf, metricsFor: metricsOf, log, logs: versionLogs, logsLink });
    cleanups.push(() => runtime.engine.stop());
    const recovered = await runtime.releases.recoverInterrupted();
    for (const r of recovered)
      options.onWarning?.(`release ${r.id} of ${r.service} was interrupted by the last stop: ${r.phase}, traffic restored to the stable version`);

    // Kept in the data directory (0600) across restarts, so an open dashboard and another terminal keep working.
    const kept = options.token || options.inMemory ? undefined : localToken(dataDir);
    const tokenGenerated = !options.token && (kept?.created ?? true);
    const token = options.token ?? kept?.token ?? randomBytes(18).toString('base64url');
    const signingSecret = options.slack?.signingSecret;
    const app = createApp({
      releases: runtime.releases,
      store,
      changes: store,
      services,
      clock: systemClock,
      authenticate: bearerAuthenticator(token, { people: options.config.people, personTokens: ownTokens }),
      allowedHost: loopbackHost,
      health: (name) => targets.get(name)?.health(),
      storageFault: () => storageFault,
      logs: versionLogs,
      ui: await dashboardFiles('bearer'),
      log,
      ...(notifier && signingSecret
        ? {
            extend: (a) =>
              mountSlackInteractions(a, {
                signingSecret: async () => signingSecret,
                releases: runtime.releases,
                clock: systemClock,
                log,
                people: options.config.people,
              }),
          }
        : {}),
    });
    const server: ServerType = await new Promise((resolvePromise, reject) => {
      const s = serve({ fetch: app.fetch, port: options.port ?? LOCAL_DEFAULTS.apiPort, hostname: LOCAL_DEFAULTS.host }, () => resolvePromise(s));
      s.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`API port ${options.port ?? LOCAL_DEFAULTS.apiPort} is already in use; pass --port or set SWITCHYARD_PORT`)
            : error,
        ),
      );
    });
    // Stop the API first (no new mutations), then the engine, the targets, and the store.
    cleanups.push(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });
    const { port } = server.address() as AddressInfo;
    api.address = `http://${LOCAL_DEFAULTS.host}:${port}`;
    return {
      apiUrl: api.address,
      token,
      tokenGenerated,
      ...(kept ? { tokenFile: kept.file } : {}),
      dataDir,
      logFile: log.file,
      targets,
      runtime,
      services,
      slack: notifier !== undefined,
      async stop() {
        await stopAll();
        await log.close();
        if (options.inMemory) rmSync(dataDir, { recursive: true, force: true });
        else claim.release();
      },
      async detach() {
        detaching = true;
        await stopAll();
        await log.close();
        if (options.inMemory) rmSync(dataDir, { recursive: true, force: true });
        else claim.release();
      },
    };
  } catch (error) {
    await stopAll();
    await log.close();
    claim.release();
    throw error;
  }
}
