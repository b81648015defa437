// An informer keeps a local cache of one kind in step with the API: list, then watch from the list's
// resourceVersion, and on any break list again. Handlers get the cache after every change, which is
// all a level-triggered reconciler needs.
import type { ApiClient, ListOptions } from './client.ts';
import type { KubeObject, WatchEvent } from './types.ts';

export interface Informer<T extends KubeObject> {
  /** The objects as last seen, keyed `namespace/name` (or `name` for cluster-scoped kinds). */
  readonly cache: Map<string, T>;
  /** Resolves after the first list. */
  synced: Promise<void>;
  stop(): void;
}

export const cacheKey = (o: KubeObject) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

export function inform<T extends KubeObject>(
  client: ApiClient,
  kind: string,
  opts: ListOptions,
  onChange: (event: WatchEvent<T> | { type: 'SYNC' }) => void,
  onError: (err: Error) => void = () => {},
): Informer<T> {
  const cache = new Map<string, T>();
  let stopped = false;
  let current: { stop: () => void } | undefined;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => (resolveSynced = r));

  async function run(): Promise<void> {
    while (!stopped) {
      try {
        const list = await client.list<T>(kind, opts);
        cache.clear();
        for (const item of list.items) cache.set(cacheKey(item), item);
        resolveSynced();
        onChange({ type: 'SYNC' });
        await new Promise<void>((resolve, reject) => {
          client
            .watch<T>(
              kind,
              { ...opts, resourceVersion: list.metadata.resourceVersion },
              (e) => {
                if (e.type === 'DELETED') cache.delete(cacheKey(e.object));
                else if (e.type === 'ADDED' || e.type === 'MODIFIED') cache.set(cacheKey(e.object), e.object);
                onChange(e);
              },
              (err) => (err ? reject(err) : resolve()),
            )
            .then((w) => {
              current = w;
              if (stopped) w.stop();
            }, reject);
        });
      } catch (e) {
        if (!stopped) onError(e as Error);
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 500));
    }
  }
  void run();
  return {
    cache,
    synced,
    stop() {
      stopped = true;
      current?.stop();
    },
  };
}
