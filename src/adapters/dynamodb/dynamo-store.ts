import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { isTerminal } from '../../core/phases.js';
import type { Release } from '../../core/release.js';
import type { MessageRef, NotificationState } from '../../ports/notifier.js';
import { type ApprovalItem, type ApprovalStatus, type ListQuery, type ReleasePage, type Store } from '../../ports/release-store.js';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';

const key = (pk: string, sk: string) => ({ pk, sk });
const K = {
  release: (id: string) => key(`RELEASE#${id}`, 'RELEASE'),
  lock: (service: string) => key(`LOCK#${service}`, 'LOCK'),
  queue: (service: string) => key(`QUEUE#${service}`, 'QUEUE'),
  idempotency: (k: string) => key(`IDEMPOTENCY#${k}`, 'IDEMPOTENCY'),
  approval: (id: string) => key(`APPROVAL#${id}`, 'APPROVAL'),
  service: (service: string) => key(`SERVICE#${service}`, 'SERVICE'),
  message: (releaseId: string) => key(`MESSAGE#${releaseId}`, 'SLACK'),
};
/** The item that says every release item carries its byPhase keys (see `phaseIndexed`). */
export const PHASE_INDEX_MIGRATION = key('MIGRATION#byPhase', 'MIGRATION');
const IDEMPOTENCY_TTL_SECONDS = 90 * 24 * 3600;
const MAX_UPDATE_ATTEMPTS = 20;
/** Releases remembered for `recent` (a few hundred concurrent releases fit). */
const MAX_REMEMBERED = 512;

interface ReleaseItem {
  version: number;
  release: Release;
}

function conditionFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error instanceof Error && error.name === 'ConditionalCheckFailedException');
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/** Raised for a cursor that did not come from a previous page. */
export class InvalidCursorError extends ValidationError {
  override readonly name: string = 'InvalidCursorError';
}

/** The keys a page of `list` ends on: the table's and the queried index's, nothing else. */
type IndexName = 'byService' | 'byTime' | 'byPhase';
const CURSOR_KEYS: Readonly<Record<IndexName, readonly [string, string, string, string]>> = {
  byService: ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
  byTime: ['pk', 'sk', 'gsi2pk', 'gsi2sk'],
  byPhase: ['pk', 'sk', 'gsi3pk', 'gsi3sk'],
};
/** Items read per query when a filter may drop some: a page costs a few reads, not one per release. */
const FILTERED_PAGE = 100;

/** Which index answers a list: its partition, and the condition it filters by, if any. */
interface ListPlan {
  readonly index: IndexName;
  readonly partition: string;
  readonly filter?: { readonly attribute: 'phase' | 'gsi1pk'; readonly value: string };
}

function listPlan({ service, phase }: ListQuery): ListPlan {
  if (phase === undefined) return service === undefined ? { index: 'byTime', partition: 'RELEASES' } : { index: 'byService', partition: `SERVICE#${service}` };
  if (service === undefined) return { index: 'byPhase', partition: `PHASE#${phase}` };
  // Both: an index keys one of them (and CloudFormation adds one index to a table per update, so
  // existing stacks take byPhase in one deploy). An active phase holds at most an active and a queued
  // release per service (the service lock), so its byPhase partition is small; a finished phase holds
  // most of history, where the service's own releases, filtered by phase, are the smaller read.
  return isTerminal(phase)
    ? { index: 'byService', partition: `SERVICE#${service}`, filter: { attribute: 'phase', value: phase } }
    : { index: 'byPhase', partition: `PHASE#${phase}`, filter: { attribute: 'gsi1pk', value: `SERVICE#${service}` } };
}

/**
 * A cursor is only ever one this store handed out: the exact key of a release item in the queried
 * index. Anything else (crafted, from another query, truncated) is refused before DynamoDB sees it.
 */
function decodeCursor(cursor: string, index: IndexName, partition: string): Record<string, string> {
  const refuse = () => new InvalidCursorError('cursor is not one this API returned for this query; pass the `cursor` of the previous page or leave it out');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw refuse();
  const key = parsed as Record<string, unknown>;
  const expected = CURSOR_KEYS[index];
  const keys = Object.keys(key).sort();
  if (keys.join() !== [...expected].sort().join() || !keys.every((k) => typeof key[k] === 'string' && (key[k] as string).length <= 1024)) throw refuse();
  if (!(key['pk'] as string).startsWith('RELEASE#') || key['sk'] !== 'RELEASE' || key[expected[2] ?? ''] !== partition) throw refuse();
  return key as Record<string, string>;
}

/**
 * The release store on one DynamoDB table (dynalite locally). Single-item conditional writes only:
 * releases carry a version for optimistic concurrency, locks an owner and an expiry.
 */
export class DynamoReleaseStore implements Store, NotificationState {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  private releaseItem(release: Release, version: number) {
    return {
      ...K.release(release.id),
      gsi1pk: `SERVICE#${release.service}`,
      gsi1sk: `${release.createdAt}#${release.id}`,
      gsi2pk: 'RELEASES',
      gsi2sk: `${release.createdAt}#${release.id}`,
      gsi3pk: `PHASE#${release.phase}`,
      gsi3sk: `${release.createdAt}#${release.id}`,
      phase: release.phase,
      version,
      release,
    };
  }

  async create(release: Release): Promise<void> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: this.releaseItem(release, 1), ConditionExpression: 'attribute_not_exists(pk)' }));
      this.remember({ release, version: 1 });
    } catch (error) {
      if (conditionFailed(error)) throw new ConflictError(`release ${release.id} already exists`, { cause: error });
      throw error;
    }
  }

  /**
   * The latest release (and its version) this store read or wrote, per id, so the workflow's next
   * step can start from it instead of reading it again. Bounded; a stale entry only costs a failed
   * conditional write and a re-read, and a no-op on it is confirmed by a read.
   */
  private readonly seen = new Map<string, ReleaseItem>();

  private remember(item: ReleaseItem): void {
    const known = this.seen.get(item.release.id);
    if (known && known.version > item.version) return;
    this.seen.delete(item.release.id);
    this.seen.set(item.release.id, item);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value as string);
  }

  private async getItem(id: string): Promise<ReleaseItem | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: K.release(id), ConsistentRead: true }));
    const item = Item as ReleaseItem | undefined;
    if (item) this.remember(item);
    return item;
  }

  async get(id: string): Promise<Release | undefined> {
    return (await this.getItem(id))?.release;
  }

  async recent(id: string): Promise<Release | undefined> {
    return this.seen.get(id)?.release;
  }

  async update<T>(id: string, change: (release: Release) => { release: Release; result: T }, current?: Release): Promise<{ release: Release; result: T }> {
    // Start from `current` when it is the latest release this store saw (its version is then known);
    // a no-op on it still needs a fresh read.
    const known = this.seen.get(id);
    let item: ReleaseItem | undefined = current !== undefined && known?.release === current ? known : undefined;
    let fresh = false;
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      if (!item) {
        item = await this.getItem(id);
        fresh = true;
      }
      if (!item) throw new NotFoundError(`no release with id "${id}"`);
      const out = change(item.release);
      if (out.release === item.release) {
        if (fresh) return out;
        item = undefined;
        continue;
      }
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: this.releaseItem(out.release, item.version + 1),
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': item.version },
          }),
        );
        this.remember({ release: out.release, version: item.version + 1 });
        return out;
      } catch (error) {
        if (!conditionFailed(error)) throw error;
        // Another writer got there first: read the freshest release and apply the change to it, after a
        // short jittered pause so two busy writers do not keep colliding (AWS's retry advice: backoff with full jitter).
        item = undefined;
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
      }
    }
    throw new ConflictError(`release ${id} kept changing under ${MAX_UPDATE_ATTEMPTS} attempts to update it`);
  }

  /**
   * Newest first, from the index that keys what is asked (see `listPlan`): a service's releases, one
   * phase's, or all. A filter (service and phase together) reads pages of FILTERED_PAGE items.
   */
  async list(query: ListQuery): Promise<ReleasePage> {
    const { index, partition, filter } = listPlan(query);
    if (index === 'byPhase') await this.phaseIndexed();
    const [, , pkName] = CURSOR_KEYS[index];
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined = query.cursor ? decodeCursor(query.cursor, index, partition) : undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: index,
        KeyConditionExpression: `${pkName} = :pk`,
        ExpressionAttributeValues: { ':pk': partition, ...(filter ? { ':filter': filter.value } : {}) },
        ...(filter ? { FilterExpression: `${filter.attribute} = :filter` } : {}),
        ScanIndexForward: false,
        Limit: filter ? FILTERED_PAGE : query.limit - items.length,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      };
      const page = await this.doc.send(new QueryCommand(input));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < query.limit);
    // A filtered read may bring more than the page: the next page starts after the last one returned.
    const returned = items.slice(0, query.limit);
    const last = returned.at(-1);
    const next = items.length > query.limit && last ? Object.fromEntries(CURSOR_KEYS[index].map((k) => [k, last[k]])) : startKey;
    const cursor = encodeCursor(next);
    const releases = returned.map((i) => (i as unknown as ReleaseItem).release);
    return cursor ? { releases, cursor } : { releases };
  }

  /**
   * Releases written before the byPhase index existed lack its keys, so it would not list them. The
   * first list that needs the index adds them (a migration on read; releases written since carry the
   * keys from every put, see `releaseItem`): every release item without them is found through byTime,
   * which holds all releases, and given its keys by a write conditional on its version (a newer write
   * has them already). A marker item then records it for the table, and this store remembers it, so
   * later lists cost nothing more; a migration cut short (a timeout) is taken up by the next list.
   */
  private phaseIndex: Promise<void> | undefined;

  private phaseIndexed(): Promise<void> {
    this.phaseIndex ??= this.backfillPhaseIndex().catch((error: unknown) => {
      this.phaseIndex = undefined;
      throw error;
    });
    return this.phaseIndex;
  }

  private async backfillPhaseIndex(): Promise<void> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: PHASE_INDEX_MIGRATION, ConsistentRead: true }));
    if (Item) return;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byTime',
          KeyConditionExpression: 'gsi2pk = :pk',
          FilterExpression: 'attribute_not_exists(gsi3pk)',
          ProjectionExpression: 'pk, sk, gsi2sk, phase, version',
          ExpressionAttributeValues: { ':pk': 'RELEASES' },
          Limit: FILTERED_PAGE,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      await Promise.all(
        (page.Items ?? []).map((item) =>
          this.doc
            .send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: key(String(item['pk']), String(item['sk'])),
                UpdateExpression: 'SET gsi3pk = :pk, gsi3sk = :sk',
                ConditionExpression: 'version = :v',
                ExpressionAttributeValues: { ':pk': `PHASE#${String(item['phase'])}`, ':sk': item['gsi2sk'], ':v': item['version'] },
              }),
            )
            .catch((error: unknown) => {
              if (!conditionFailed(error)) throw error;
            }),
        ),
      );
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...PHASE_INDEX_MIGRATION, at: new Date().toISOString() } }));
  }

  async listUnfinished(): Promise<Release[]> {
    const out: Release[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list({ limit: 100, ...(cursor ? { cursor } : {}) });
      out.push(...page.releases.filter((r) => !isTerminal(r.phase)));
      cursor = page.cursor;
    } while (cursor);
    return out;
  }

  async acquireLock(service: string, owner: string, now: number, leaseSeconds: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...K.lock(service), owner, expiresAt: now + leaseSeconds * 1000, ttl: Math.ceil(now / 1000) + leaseSeconds + 86400 },
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner OR expiresAt < :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async releaseLock(service: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: K.lock(service),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }

  async lockOwner(service: string, now: number): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: K.lock(service), ConsistentRead: true }));
    return Item && (Item['expiresAt'] as number) >= now ? (Item['owner'] as string) : undefined;
  }

  async enqueue(service: string, releaseId: string): Promise<string | undefined> {
    const { Attributes } = await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { ...K.queue(service), releaseId }, ReturnValues: 'ALL_OLD' }),
    );
    const previous = Attributes?.['releaseId'] as string | undefined;
    return previous === releaseId ? undefined : previous;
  }

  async peekQueue(service: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: K.queue(service), ConsistentRead: true }));
    return Item?.['releaseId'] as string | undefined;
  }

  async dequeue(service: string, releaseId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: K.queue(service),
          ConditionExpression: 'releaseId = :id',
          ExpressionAttributeValues: { ':id': releaseId },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async claimIdempotencyKey(k: string, releaseId: string, now: number): Promise<string> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...K.idempotency(k), releaseId, ttl: Math.ceil(now / 1000) + IDEMPOTENCY_TTL_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return releaseId;
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: K.idempotency(k), ConsistentRead: true }));
      return (Item?.['releaseId'] as string | undefined) ?? releaseId;
    }
  }

  async forgetIdempotencyKey(k: string, releaseId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: K.idempotency(k),
          ConditionExpression: 'releaseId = :id',
          ExpressionAttributeValues: { ':id': releaseId },
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }

  async putApprovalToken(approvalId: string, releaseId: string, taskToken: string): Promise<ApprovalItem> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: K.approval(approvalId),
          UpdateExpression: 'SET releaseId = :r, taskToken = :t, #status = :pending',
          ConditionExpression: 'attribute_not_exists(pk) OR #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':r': releaseId, ':t': taskToken, ':pending': 'pending' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toApproval(Attributes);
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      // Decided before the workflow stored its token: record the token so the caller can complete it.
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: K.approval(approvalId),
          UpdateExpression: 'SET taskToken = :t',
          ExpressionAttributeValues: { ':t': taskToken },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toApproval(Attributes);
    }
  }

  async decideApproval(approvalId: string, releaseId: string, status: Exclude<ApprovalStatus, 'pending'>, by: string): Promise<ApprovalItem | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: K.approval(approvalId),
          UpdateExpression: 'SET releaseId = :r, #status = :s, decidedBy = :by',
          ConditionExpression: 'attribute_not_exists(pk) OR #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':r': releaseId, ':s': status, ':by': by, ':pending': 'pending' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toApproval(Attributes);
    } catch (error) {
      if (conditionFailed(error)) return undefined;
      throw error;
    }
  }

  async getApproval(approvalId: string): Promise<ApprovalItem | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: K.approval(approvalId), ConsistentRead: true }));
    return Item ? toApproval(Item) : undefined;
  }

  async claimMessage(releaseId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...K.message(releaseId), posted: 0, ttl: Math.ceil(Date.now() / 1000) + IDEMPOTENCY_TTL_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async unclaimMessage(releaseId: string): Promise<void> {
    await this.doc
      .send(new DeleteCommand({ TableName: this.tableName, Key: K.message(releaseId), ConditionExpression: 'attribute_not_exists(ts)' }))
      .catch((error: unknown) => {
        if (!conditionFailed(error)) throw error;
      });
  }

  async saveMessage(releaseId: string, channel: string, ts: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: K.message(releaseId),
        UpdateExpression: 'SET channel = :c, ts = :t',
        ExpressionAttributeValues: { ':c': channel, ':t': ts },
      }),
    );
  }

  async getMessage(releaseId: string): Promise<MessageRef | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: K.message(releaseId), ConsistentRead: true }));
    if (!Item?.['ts']) return undefined;
    return { channel: Item['channel'] as string, ts: Item['ts'] as string, posted: (Item['posted'] as number | undefined) ?? 0 };
  }

  async advanceThread(releaseId: string, from: number, to: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: K.message(releaseId),
          UpdateExpression: 'SET posted = :to',
          ConditionExpression: 'posted = :from',
          ExpressionAttributeValues: { ':from': from, ':to': to },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async getStable(service: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: K.service(service), ConsistentRead: true }));
    return Item?.['stableImage'] as string | undefined;
  }

  async setStable(service: string, image: string): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...K.service(service), stableImage: image } }));
  }
}

function toApproval(item: Record<string, unknown> | undefined): ApprovalItem {
  if (!item) throw new Error('approval item missing after write');
  return {
    approvalId: String(item['pk']).replace(/^APPROVAL#/, ''),
    releaseId: item['releaseId'] as string,
    status: item['status'] as ApprovalStatus,
    ...(item['taskToken'] ? { taskToken: item['taskToken'] as string } : {}),
    ...(item['decidedBy'] ? { decidedBy: item['decidedBy'] as string } : {}),
  };
}
