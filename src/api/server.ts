// The API server: Kubernetes-shaped REST over etcd. It validates strictly, assigns identity
// (uid, creationTimestamp, resourceVersion), handles graceful pod deletion the way Kubernetes does
// (deletionTimestamp first, the node's final delete later), and streams watches from etcd.
// It refuses any request without the cluster's bearer token, on the unix socket and on TCP alike.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { allocateClusterIP, allocateNodePort } from './allocators.ts';
import { apiVersionOf, findKind, type KindInfo, kindByName, KINDS, validateObject } from './kinds.ts';
import { objectMatches, parseSelector, SelectorError } from './selectors.ts';
import { Store, StoreError } from './store.ts';
import type { KubeObject, StatusBody } from './types.ts';

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly causes?: { field: string; message: string }[],
  ) {
    super(message);
  }
}

interface Route {
  info: KindInfo;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** Maps a URL path onto a kind, namespace, name and subresource. */
export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  let group = '';
  let version: string;
  if (parts[0] === 'api') [version, rest] = [parts[1]!, parts.slice(2)];
  else if (parts[0] === 'apis') [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  else throw new HttpError(404, 'NotFound', `the server could not find the requested resource ${pathname}`);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const info = KINDS.find((k) => k.plural === rest[0] && k.group === group && k.version === version);
  if (!info || rest.length > 3) throw new HttpError(404, 'NotFound', `the server could not find the requested resource ${pathname}`);
  return { info, namespace, name: rest[1], sub: rest[2] };
}

export function storeKey(info: KindInfo, namespace: string | undefined, name?: string): string {
  const base = `/registry/${info.plural}/`;
  if (!info.namespaced) return base + (name ?? '');
  if (!namespace) return base;
  return `${base}${namespace}/${name ?? ''}`;
}

function status(code: number, reason: string, message: string, causes?: { field: string; message: string }[]): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code, ...(causes ? { details: { causes } } : {}) };
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

async function readBody(req: http.IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (!text) throw new HttpError(400, 'BadRequest', 'request body required');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'BadRequest', `invalid JSON body: ${(e as Error).message}`);
  }
}

export interface ApiServerOptions {
  etcdEndpoint: string;
  token: string;
  log?: (line: string) => void;
}

export class ApiServer {
  readonly store: Store;
  private readonly token: Buffer;
  private readonly servers: http.Server[] = [];
  private readonly log: (line: string) => void;

  constructor(opts: ApiServerOptions) {
    this.store = new Store(opts.etcdEndpoint);
    this.token = Buffer.from(opts.token);
    this.log = opts.log ?? (() => {});
  }

  listen(where: { socketPath: string } | { host: string; port: number }): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 0;
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      if ('socketPath' in where) server.listen(where.socketPath, () => resolve());
      else server.listen(where.port, where.host, () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    this.store.close();
  }

  private authorized(req: http.IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    if (!m) return false;
    const given = Buffer.from(m[1]!);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kubelab');
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (!this.authorized(req)) throw new HttpError(401, 'Unauthorized', 'Unauthorized: a bearer token is required');
      if (url.pathname === '/healthz' || url.pathname === '/readyz') return void send(200, { status: 'ok' });
      if (url.pathname === '/version') return void send(200, { major: '1', minor: '30', gitVersion: 'v1.30.0-kubelab', platform: 'linux/amd64' });
      const route = parseRoute(url.pathname);
      const method = req.method ?? 'GET';
      if (method === 'GET' && url.searchParams.get('watch') === 'true') return await this.watch(route, url, req, res);
      const result = await this.dispatch(method, route, url, req);
      send(result.code, result.body);
      if (method !== 'GET') this.log(`${method} ${url.pathname} -> ${result.code}`);
    } catch (e) {
      if (e instanceof HttpError) return void send(e.code, status(e.code, e.reason, e.message, e.causes));
      if (e instanceof StoreError) return void send(e.code, status(e.code, e.reason, e.message));
      if (e instanceof SelectorError) return void send(400, status(400, 'BadRequest', e.message));
      this.log(`error ${req.method} ${url.pathname}: ${(e as Error).stack}`);
      send(500, status(500, 'InternalError', (e as Error).message));
    }
  }

  private async dispatch(method: string, route: Route, url: URL, req: http.IncomingMessage): Promise<{ code: number; body: unknown }> {
    const { info, namespace, name, sub } = route;
    if (sub && sub !== 'status') throw new HttpError(404, 'NotFound', `subresource ${sub} is not served`);
    const key = (n?: string) => storeKey(info, namespace, n);
    const notFound = (n: string) => new HttpError(404, 'NotFound', `${info.plural} "${n}" not found`);
    switch (method) {
      case 'GET': {
        if (name) {
          const obj = await this.store.get(key(name));
          if (!obj) throw notFound(name);
          return { code: 200, body: obj };
        }
        const labelSel = parseSelector(url.searchParams.get('labelSelector'));
        const fieldSel = parseSelector(url.searchParams.get('fieldSelector'));
        const { items, revision } = await this.store.list(key());
        return {
          code: 200,
          body: { apiVersion: apiVersionOf(info), kind: `${info.kind}List`, metadata: { resourceVersion: revision }, items: items.filter((o) => objectMatches(o, labelSel, fieldSel)) },
        };
      }
      case 'POST': {
        if (name) throw new HttpError(405, 'MethodNotAllowed', 'POST goes to the collection');
        const obj = (await readBody(req)) as KubeObject;
        return { code: 201, body: await this.create(info, namespace, obj, url.searchParams.get('dryRun') === 'All') };
      }
      case 'PUT':
      case 'PATCH': {
        if (!name) throw new HttpError(405, 'MethodNotAllowed', `${method} needs an object name`);
        const body = await readBody(req);
        // A patch without a resourceVersion applies to whatever is current: on a conflict with a
        // concurrent writer it is re-applied to the newer object, as the Kubernetes API server does.
        const retries = method === 'PATCH' && !body?.metadata?.resourceVersion ? 10 : 1;
        for (let attempt = 1; ; attempt++) {
          const current = await this.store.get(key(name));
          if (!current) throw notFound(name);
          let next: KubeObject;
          if (method === 'PATCH') {
            next = mergePatch(current, body);
            next.metadata.resourceVersion = body?.metadata?.resourceVersion ?? current.metadata.resourceVersion;
          } else next = body;
          if (sub === 'status') next = { ...current, status: next.status, metadata: { ...current.metadata, resourceVersion: next.metadata?.resourceVersion } };
          else if (info.kind === 'Pod' || info.kind === 'Node') next = { ...next, status: current.status };
          try {
            return { code: 200, body: await this.update(info, current, next) };
          } catch (e) {
            if (!(e instanceof StoreError && e.reason === 'Conflict') || attempt >= retries) throw e;
          }
        }
      }
      case 'DELETE': {
        if (!name) throw new HttpError(405, 'MethodNotAllowed', 'DELETE needs an object name');
        const grace = url.searchParams.get('gracePeriodSeconds');
        return { code: 200, body: await this.remove(info, namespace, name, grace === null ? undefined : Number(grace)) };
      }
      default:
        throw new HttpError(405, 'MethodNotAllowed', `method ${method} is not allowed`);
    }
  }

  private invalid(info: KindInfo, name: string | undefined, errors: { path: string; message: string }[]): HttpError {
    const causes = errors.map((e) => ({ field: e.path, message: e.message }));
    const text = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join(', ');
    return new HttpError(422, 'Invalid', `${info.kind} ${JSON.stringify(name ?? '')} is invalid: ${text}`, causes);
  }

  async create(info: KindInfo, namespace: string | undefined, obj: KubeObject, dryRun = false): Promise<KubeObject> {
    obj.apiVersion ??= apiVersionOf(info);
    obj.kind ??= info.kind;
    obj.metadata ??= { name: '' };
    if (info.namespaced) {
      if (obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
        throw new HttpError(400, 'BadRequest', `the namespace of the object (${obj.metadata.namespace}) does not match the namespace on the request (${namespace})`);
      }
      obj.metadata.namespace = namespace ?? obj.metadata.namespace ?? 'default';
    }
    if (!obj.metadata.name && (obj.metadata as any).generateName) {
      obj.metadata.name = `${(obj.metadata as any).generateName}${randomUUID().slice(0, 5)}`;
    }
    if (obj.kind !== info.kind) throw new HttpError(400, 'BadRequest', `kind ${obj.kind} posted to ${info.plural}`);
    const errors = validateObject(obj);
    if (errors.length) throw this.invalid(info, obj.metadata.name, errors);
    if (info.namespaced) {
      const ns = await this.store.get(`/registry/namespaces/${obj.metadata.namespace}`);
      if (!ns) throw new HttpError(404, 'NotFound', `namespaces "${obj.metadata.namespace}" not found`);
      if (ns.metadata.deletionTimestamp) throw new HttpError(403, 'Forbidden', `namespace ${obj.metadata.namespace} is being terminated`);
    }
    info.defaults?.(obj);
    if (info.kind === 'Pod') delete obj.status;
    if (info.kind === 'Namespace') obj.status = { phase: 'Active' };
    delete (obj.metadata as any).generateName;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.generation = 1;
    if (dryRun) {
      if (info.kind === 'Service') await this.serialized(() => this.allocateService(obj, undefined));
      return obj;
    }
    if (info.kind === 'Service') return this.serialized(async () => {
      await this.allocateService(obj, undefined);
      return this.store.create(storeKey(info, obj.metadata.namespace, obj.metadata.name), obj);
    });
    return this.store.create(storeKey(info, obj.metadata.namespace, obj.metadata.name), obj);
  }

  private chain: Promise<unknown> = Promise.resolve();
  /** Allocation reads all services and writes one: one at a time, so two creates never take the same IP. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => {});
    return next;
  }

  /**
   * Gives a Service its ClusterIP and NodePorts (keeping those it has on an update), refusing a
   * requested address or port that is out of range or taken, with the field that asked for it.
   */
  private async allocateService(obj: KubeObject, current: KubeObject | undefined): Promise<void> {
    const spec = obj.spec;
    const others = (await this.store.list('/registry/services/')).items.filter((s) => s.metadata.uid !== (current?.metadata.uid ?? obj.metadata.uid) || !obj.metadata.uid);
    const sameObject = (s: KubeObject) => s.metadata.namespace === obj.metadata.namespace && s.metadata.name === obj.metadata.name;
    const rest = others.filter((s) => !sameObject(s));
    const errors: { path: string; message: string }[] = [];
    if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
    } else if (spec.clusterIP !== 'None') {
      const keep = current?.spec?.clusterIP;
      if (keep && spec.clusterIP && spec.clusterIP !== keep) errors.push({ path: 'spec.clusterIP', message: 'field is immutable' });
      const used = new Set(rest.map((s) => s.spec?.clusterIP).filter(Boolean));
      const r = allocateClusterIP(used, spec.clusterIP ?? keep);
      if ('error' in r) errors.push(r.error);
      else {
        spec.clusterIP = r.ip;
        spec.clusterIPs = [r.ip];
      }
    } else spec.clusterIPs = ['None'];
    if (['NodePort', 'LoadBalancer'].includes(spec.type)) {
      const used = new Set<number>(rest.flatMap((s) => (s.spec?.ports ?? []).map((p: any) => p.nodePort).filter(Boolean)));
      (spec.ports ?? []).forEach((p: any, i: number) => {
        const before = current?.spec?.ports?.find((c: any) => c.port === p.port && c.protocol === p.protocol)?.nodePort;
        const r = allocateNodePort(used, p.nodePort ?? before, `spec.ports[${i}].nodePort`);
        if ('error' in r) errors.push(r.error);
        else {
          p.nodePort = r.port;
          used.add(r.port);
        }
      });
    } else for (const p of spec.ports ?? []) delete p.nodePort;
    if (errors.length) throw this.invalid(kindByName('Service')!, obj.metadata.name, errors);
  }

  async update(info: KindInfo, current: KubeObject, next: KubeObject): Promise<KubeObject> {
    if (next.metadata?.name !== current.metadata.name) throw new HttpError(400, 'BadRequest', 'metadata.name cannot change');
    next.metadata.namespace = current.metadata.namespace;
    next.metadata.uid = current.metadata.uid;
    next.metadata.creationTimestamp = current.metadata.creationTimestamp;
    next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
    const errors = validateObject(next);
    if (errors.length) throw this.invalid(info, next.metadata.name, errors);
    if (info.kind === 'Service' && JSON.stringify(next.spec) !== JSON.stringify(current.spec)) {
      info.defaults?.(next);
      await this.serialized(() => this.allocateService(next, current));
    }
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    return this.store.update(storeKey(info, current.metadata.namespace, current.metadata.name), next);
  }

  async remove(info: KindInfo, namespace: string | undefined, name: string, grace?: number): Promise<KubeObject> {
    const key = storeKey(info, namespace, name);
    const current = await this.store.get(key);
    if (!current) throw new HttpError(404, 'NotFound', `${info.plural} "${name}" not found`);
    if (info.kind === 'Pod' && current.spec?.nodeName && grace !== 0) {
      // Graceful deletion: mark the pod; its node stops the containers, frees the network and then
      // deletes it for good with gracePeriodSeconds=0, as the kubelet does.
      if (current.metadata.deletionTimestamp) return current;
      const seconds = grace ?? current.spec.terminationGracePeriodSeconds ?? 30;
      current.metadata.deletionTimestamp = new Date(Date.now() + seconds * 1000).toISOString();
      current.metadata.deletionGracePeriodSeconds = seconds;
      return this.store.update(key, current);
    }
    if (info.kind === 'Namespace') {
      if (['default', 'kube-system'].includes(name)) throw new HttpError(403, 'Forbidden', `namespace ${name} cannot be deleted`);
      // Terminating: the namespace controller deletes what it holds, then the namespace itself.
      if (!current.metadata.deletionTimestamp) {
        current.metadata.deletionTimestamp = new Date().toISOString();
        current.status = { phase: 'Terminating' };
        return this.store.update(key, current);
      }
      if (grace === 0) return this.store.delete(key);
      return current;
    }
    return this.store.delete(key);
  }

  private async watch(route: Route, url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const labelSel = parseSelector(url.searchParams.get('labelSelector'));
    const fieldSel = parseSelector(url.searchParams.get('fieldSelector'));
    const prefix = storeKey(route.info, route.namespace);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const stop = await this.store.watch(
      prefix,
      url.searchParams.get('resourceVersion') ?? undefined,
      (e) => {
        if (route.name && e.object.metadata.name !== route.name) return;
        if (!objectMatches(e.object, labelSel, fieldSel)) return;
        res.write(JSON.stringify(e) + '\n');
      },
      () => res.end(),
    );
    const end = () => void stop().catch(() => {});
    req.on('close', end);
    res.on('close', end);
  }
}

/** Finds a kind by a user's word, for error messages that suggest the right one. */
export { findKind };
