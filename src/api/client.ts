// The HTTP client of kubelab's API, used by the CLI (over the unix socket), the controllers and the
// node daemons (over the underlay). It speaks the Kubernetes REST shapes, including watch streams.
import http from 'node:http';
import { apiVersionOf, findKind, type KindInfo, kindByName } from './kinds.ts';
import type { KubeObject, List, StatusBody, WatchEvent } from './types.ts';

export type Endpoint = { socketPath: string } | { host: string; port: number };

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: StatusBody,
  ) {
    super(status.message);
    this.name = 'ApiError';
  }
  get reason() {
    return this.status.reason;
  }
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export function resourcePath(info: KindInfo, namespace?: string, name?: string, sub?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${info.plural}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
}

function kindInfo(kind: string): KindInfo {
  const info = kindByName(kind) ?? findKind(kind);
  if (!info) throw new Error(`unknown kind ${kind}`);
  return info;
}

export class ApiClient {
  constructor(
    readonly endpoint: Endpoint,
    private readonly token: string,
  ) {}

  private request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ code: number; body: any }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          ...this.endpoint,
          method,
          path,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
          },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: any;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = { kind: 'Status', status: 'Failure', message: text, reason: 'InternalError', code: res.statusCode };
            }
            const code = res.statusCode ?? 0;
            if (code >= 400) reject(new ApiError(code, parsed));
            else resolve({ code, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  private query(opts: ListOptions & Record<string, string | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts)) if (v !== undefined && k !== 'namespace') q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  async get<T extends KubeObject = KubeObject>(kind: string, name: string, namespace?: string): Promise<T> {
    return (await this.request('GET', resourcePath(kindInfo(kind), namespace ?? 'default', name))).body;
  }

  /** Like get, but undefined when the object does not exist. */
  async find<T extends KubeObject = KubeObject>(kind: string, name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.get<T>(kind, name, namespace);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  async list<T extends KubeObject = KubeObject>(kind: string, opts: ListOptions = {}): Promise<List<T>> {
    return (await this.request('GET', resourcePath(kindInfo(kind), opts.namespace) + this.query({ ...opts }))).body;
  }

  async create<T extends KubeObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
    const info = kindInfo(obj.kind);
    const q = opts.dryRun ? '?dryRun=All' : '';
    return (await this.request('POST', resourcePath(info, obj.metadata.namespace ?? 'default') + q, { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(info) })).body;
  }

  async update<T extends KubeObject>(obj: T, sub?: 'status'): Promise<T> {
    const info = kindInfo(obj.kind);
    return (await this.request('PUT', resourcePath(info, obj.metadata.namespace ?? 'default', obj.metadata.name, sub), obj)).body;
  }

  /** JSON merge patch (RFC 7386), optionally on the status subresource. */
  async patch<T extends KubeObject = KubeObject>(kind: string, name: string, namespace: string | undefined, patch: unknown, sub?: 'status'): Promise<T> {
    return (await this.request('PATCH', resourcePath(kindInfo(kind), namespace ?? 'default', name, sub), patch, 'application/merge-patch+json')).body;
  }

  async delete(kind: string, name: string, namespace?: string, opts: { gracePeriodSeconds?: number } = {}): Promise<KubeObject> {
    const q = opts.gracePeriodSeconds !== undefined ? `?gracePeriodSeconds=${opts.gracePeriodSeconds}` : '';
    return (await this.request('DELETE', resourcePath(kindInfo(kind), namespace ?? 'default', name) + q)).body;
  }

  /**
   * Streams watch events from a resourceVersion. Resolves when the stream is open; `stop()` ends it.
   * `onClose` fires when the server ends the stream (the caller re-lists and watches again).
   */
  watch<T extends KubeObject = KubeObject>(
    kind: string,
    opts: ListOptions & { resourceVersion: string },
    onEvent: (e: WatchEvent<T>) => void,
    onClose: (err?: Error) => void,
  ): Promise<{ stop: () => void }> {
    const path = resourcePath(kindInfo(kind), opts.namespace) + this.query({ ...opts, watch: 'true' });
    return new Promise((resolve, reject) => {
      let closed = false;
      const close = (err?: Error) => {
        if (closed) return;
        closed = true;
        onClose(err);
      };
      const req = http.request({ ...this.endpoint, method: 'GET', path, headers: { authorization: `Bearer ${this.token}` }, agent: false }, (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => reject(new ApiError(res.statusCode ?? 0, JSON.parse(Buffer.concat(chunks).toString() || '{}'))));
          return;
        }
        resolve({ stop: () => { closed = true; req.destroy(); } });
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() && !closed) onEvent(JSON.parse(line));
          }
        });
        res.on('end', () => close());
        res.on('error', (e) => close(e));
      });
      req.on('error', (e) => {
        if (!closed) {
          reject(e);
          close(e);
        }
      });
      req.end();
    });
  }

  async health(): Promise<boolean> {
    try {
      await this.request('GET', '/healthz');
      return true;
    } catch {
      return false;
    }
  }
}
