// Objects in etcd, laid out as the Kubernetes API server lays them out: /registry/<plural>/<ns>/<name>.
// resourceVersion is etcd's mod_revision, so a watch can resume from any list's revision, and
// updates are compare-and-swap on it (optimistic concurrency, a 409 Conflict when stale).
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import type { KubeObject } from './types.ts';

export class StoreError extends Error {
  constructor(
    readonly code: 404 | 409,
    readonly reason: 'NotFound' | 'AlreadyExists' | 'Conflict',
    message: string,
  ) {
    super(message);
  }
}

export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

const end = (prefix: string) => {
  const b = Buffer.from(prefix);
  b[b.length - 1]! += 1;
  return b;
};

function decode(kv: IKeyValue): KubeObject {
  const obj = JSON.parse(kv.value.toString()) as KubeObject;
  obj.metadata.resourceVersion = String(kv.mod_revision);
  return obj;
}

export class Store {
  readonly etcd: Etcd3;

  constructor(endpoint: string) {
    this.etcd = new Etcd3({ hosts: endpoint, dialTimeout: 2000 });
  }

  close() {
    this.etcd.close();
  }

  async get(key: string): Promise<KubeObject | undefined> {
    const res = await this.etcd.kv.range({ key: Buffer.from(key) });
    return res.kvs[0] ? decode(res.kvs[0]) : undefined;
  }

  async list(prefix: string): Promise<{ items: KubeObject[]; revision: string }> {
    const res = await this.etcd.kv.range({ key: Buffer.from(prefix), range_end: end(prefix) });
    return { items: res.kvs.map(decode), revision: String(res.header.revision) };
  }

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } };
    const res = await this.etcd.kv.txn({
      compare: [{ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: '0' }],
      success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(body)) } }],
    });
    if (!res.succeeded) throw new StoreError(409, 'AlreadyExists', `${key} already exists`);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(res.header.revision) } };
  }

  /** Replaces an object if its resourceVersion is still the one given (or unconditionally without one). */
  async update(key: string, obj: KubeObject): Promise<KubeObject> {
    const rv = obj.metadata.resourceVersion;
    const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } };
    const compare = rv
      ? [{ key: Buffer.from(key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: rv }]
      : [{ key: Buffer.from(key), target: 'Create' as const, result: 'Greater' as const, create_revision: '0' }];
    const res = await this.etcd.kv.txn({
      compare,
      success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(body)) } }],
    });
    if (!res.succeeded) {
      const current = await this.get(key);
      if (!current) throw new StoreError(404, 'NotFound', `${key} not found`);
      throw new StoreError(409, 'Conflict', `the object has been modified (resourceVersion ${rv}, now ${current.metadata.resourceVersion}); please apply your changes to the latest version and try again`);
    }
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(res.header.revision) } };
  }

  async delete(key: string): Promise<KubeObject> {
    const res = await this.etcd.kv.deleteRange({ key: Buffer.from(key), prev_kv: true });
    const prev = res.prev_kvs[0];
    if (!prev) throw new StoreError(404, 'NotFound', `${key} not found`);
    const obj = decode(prev);
    obj.metadata.resourceVersion = String(res.header.revision);
    return obj;
  }

  /**
   * Watches a prefix from a revision (exclusive, as Kubernetes' resourceVersion semantics: events after it).
   * Returns a function that stops the watch.
   */
  async watch(prefix: string, fromRevision: string | undefined, onEvent: (e: StoreEvent) => void, onError: (err: Error) => void): Promise<() => Promise<void>> {
    let builder = this.etcd.watch().prefix(prefix).withPreviousKV();
    if (fromRevision && fromRevision !== '0') builder = builder.startRevision(String(BigInt(fromRevision) + 1n));
    const watcher: Watcher = await builder.create();
    watcher.on('put', (kv) => {
      const object = decode(kv);
      onEvent({ type: kv.create_revision === kv.mod_revision ? 'ADDED' : 'MODIFIED', object });
    });
    watcher.on('delete', (kv, previous) => {
      if (!previous) return;
      const object = decode(previous);
      object.metadata.resourceVersion = String(kv.mod_revision);
      onEvent({ type: 'DELETED', object });
    });
    watcher.on('error', onError);
    return async () => {
      await watcher.cancel();
    };
  }
}
