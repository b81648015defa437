// OCI image config (application/vnd.oci.image.config.v1+json) and image manifest
// (application/vnd.oci.image.manifest.v1+json): their types, validators that report every bad field
// with its path, and content digests. Field names are the specs' own (Docker's capitalised `config`
// fields included), so a config read from any registry or `docker save` fits unchanged. Unknown
// fields are allowed: the spec says implementations ignore what they do not understand.
import { createHash } from 'node:crypto';
import { fieldPath, SpecError, type FieldProblem } from './errors.ts';

export const MEDIA_TYPE_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_IMAGE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
/** Docker's schema 2 manifest has the same shape as OCI's; accepted where a manifest is validated. */
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** Docker's HEALTHCHECK, carried in image configs Docker builds. Durations are nanoseconds. */
export interface Healthcheck {
  /** [] inherit, ["NONE"] disable, ["CMD", arg...] exec, ["CMD-SHELL", command] run with the shell. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The execution defaults of an image (`config` in the image config). */
export interface ImageExecConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: Healthcheck;
  /** Docker: the shell for the shell form of RUN, CMD and ENTRYPOINT. */
  Shell?: string[];
  /** Docker: ONBUILD triggers. */
  OnBuild?: string[] | null;
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
}

export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageExecConfig | null;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  artifactType?: string;
  platform?: { architecture: string; os: string; 'os.version'?: string; 'os.features'?: string[]; variant?: string };
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** "sha256:<64 hex>" of the bytes, as OCI descriptors and DiffIDs write it. */
export function digestOf(data: Buffer | Uint8Array | string, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/**
 * ChainID of a stack of layers (bottom first), as the image spec defines it: the first DiffID, then
 * sha256 of "<previous ChainID> <next DiffID>". Snapshotters name unpacked layer stacks by it.
 */
export function chainId(diffIds: readonly string[]): string {
  if (diffIds.length === 0) throw new SpecError({ path: 'rootfs.diff_ids', message: 'no layers' });
  return diffIds.slice(1).reduce((chain, diff) => digestOf(`${chain} ${diff}`), diffIds[0]!);
}

// The spec's digest grammar, and the exact encodings of the registered algorithms.
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const REGISTERED: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };
// RFC 6838 section 4.2: type "/" subtype, each a restricted name of up to 127 characters.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const PORT_RE = /^(\d+)(?:\/(tcp|udp|sctp))?$/;
const HEALTH_TESTS = ['NONE', 'CMD', 'CMD-SHELL'];

/** Why `digest` is not a valid OCI digest, or undefined when it is. */
export function digestProblem(digest: unknown): string | undefined {
  if (typeof digest !== 'string') return `expected a digest string, got ${typeName(digest)}`;
  if (!DIGEST_RE.test(digest)) return `invalid digest ${JSON.stringify(digest)}: expected algorithm:encoded`;
  const [algorithm, encoded] = [digest.slice(0, digest.indexOf(':')), digest.slice(digest.indexOf(':') + 1)];
  const exact = REGISTERED[algorithm];
  if (exact && !exact.test(encoded)) {
    return `invalid ${algorithm} digest ${JSON.stringify(digest)}: expected ${algorithm === 'sha256' ? 64 : 128} lowercase hex digits`;
  }
  return undefined;
}

export const isDigest = (digest: unknown): boolean => digestProblem(digest) === undefined;

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => typeName(v) === 'object';

/** A small checker that records problems against paths. */
class Checker {
  readonly problems: FieldProblem[] = [];
  fail(path: string, message: string): void {
    this.problems.push({ path, message });
  }
  /** Checks the type of an optional field (undefined and null are absent); returns true when present and right. */
  string(v: unknown, path: string): v is string {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'string') return this.fail(path, `expected a string, got ${typeName(v)}`), false;
    return true;
  }
  bool(v: unknown, path: string): void {
    if (v !== undefined && v !== null && typeof v !== 'boolean') this.fail(path, `expected true or false, got ${typeName(v)}`);
  }
  integer(v: unknown, path: string, min?: number): void {
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(path, `expected an integer, got ${JSON.stringify(v)}`);
    if (min !== undefined && v < min) this.fail(path, `${v} must be greater than or equal to ${min}`);
  }
  strings(v: unknown, path: string): v is string[] {
    if (v === undefined || v === null) return false;
    if (!Array.isArray(v)) return this.fail(path, `expected a list of strings, got ${typeName(v)}`), false;
    let ok = true;
    v.forEach((s, i) => {
      if (typeof s !== 'string') {
        this.fail(fieldPath(path, i), `expected a string, got ${typeName(s)}`);
        ok = false;
      }
    });
    return ok;
  }
  stringMap(v: unknown, path: string): void {
    if (v === undefined || v === null) return;
    if (!isObject(v)) return this.fail(path, `expected a map of strings, got ${typeName(v)}`);
    for (const [k, s] of Object.entries(v)) {
      if (typeof s !== 'string') this.fail(`${path}[${JSON.stringify(k)}]`, `expected a string, got ${typeName(s)}`);
    }
  }
  /** A Go map[string]struct{}: keys checked by `key`, values must be objects ({}). */
  set(v: unknown, path: string, key: (k: string) => string | undefined): void {
    if (v === undefined || v === null) return;
    if (!isObject(v)) return this.fail(path, `expected an object of keys to {}, got ${typeName(v)}`);
    for (const [k, s] of Object.entries(v)) {
      const p = `${path}[${JSON.stringify(k)}]`;
      const why = key(k);
      if (why) this.fail(p, why);
      if (!isObject(s)) this.fail(p, `expected {}, got ${typeName(s)}`);
    }
  }
  timestamp(v: unknown, path: string): void {
    if (this.string(v, path) && (!TIMESTAMP_RE.test(v) || Number.isNaN(Date.parse(v)))) {
      this.fail(path, `invalid timestamp ${JSON.stringify(v)}: expected RFC 3339, e.g. 2015-10-31T22:22:56.015925234Z`);
    }
  }
  required(obj: Record<string, unknown>, key: string, path: string): boolean {
    if (obj[key] === undefined || obj[key] === null || obj[key] === '') return this.fail(fieldPath(path, key), 'Required value'), false;
    return true;
  }
  descriptor(v: unknown, path: string): void {
    if (!isObject(v)) return this.fail(path, `expected a descriptor object, got ${typeName(v)}`);
    if (this.required(v, 'mediaType', path) && this.string(v.mediaType, fieldPath(path, 'mediaType')) && !MEDIA_TYPE_RE.test(v.mediaType)) {
      this.fail(fieldPath(path, 'mediaType'), `invalid media type ${JSON.stringify(v.mediaType)}`);
    }
    if (this.required(v, 'digest', path)) {
      const why = digestProblem(v.digest);
      if (why) this.fail(fieldPath(path, 'digest'), why);
    }
    if (this.required(v, 'size', path)) this.integer(v.size, fieldPath(path, 'size'), 0);
    this.strings(v.urls, fieldPath(path, 'urls'));
    this.stringMap(v.annotations, fieldPath(path, 'annotations'));
    this.string(v.artifactType, fieldPath(path, 'artifactType'));
    if (this.string(v.data, fieldPath(path, 'data')) && !/^[A-Za-z0-9+/]*={0,2}$/.test(v.data)) {
      this.fail(fieldPath(path, 'data'), 'expected base64');
    }
  }
}

function checkExecConfig(c: Checker, v: unknown, path: string): void {
  if (v === undefined || v === null) return;
  if (!isObject(v)) return c.fail(path, `expected an object, got ${typeName(v)}`);
  const p = (k: string) => fieldPath(path, k);
  c.string(v.User, p('User'));
  c.set(v.ExposedPorts, p('ExposedPorts'), (k) => {
    const m = PORT_RE.exec(k);
    const port = m ? Number(m[1]) : NaN;
    return m && port >= 1 && port <= 65535 ? undefined : `invalid port ${JSON.stringify(k)}: expected port, port/tcp, port/udp or port/sctp`;
  });
  if (c.strings(v.Env, p('Env'))) {
    v.Env.forEach((e, i) => {
      if (e.indexOf('=') <= 0) c.fail(fieldPath(p('Env'), i), `${JSON.stringify(e)} is not of the form NAME=value`);
    });
  }
  c.strings(v.Entrypoint, p('Entrypoint'));
  c.strings(v.Cmd, p('Cmd'));
  c.set(v.Volumes, p('Volumes'), (k) => (k.startsWith('/') ? undefined : `volume path ${JSON.stringify(k)} must be absolute`));
  c.string(v.WorkingDir, p('WorkingDir'));
  c.stringMap(v.Labels, p('Labels'));
  if (c.string(v.StopSignal, p('StopSignal')) && !/^(SIG)?[A-Z][A-Z0-9]*([+-][0-9]+)?$|^[0-9]+$/.test(v.StopSignal)) {
    c.fail(p('StopSignal'), `invalid signal ${JSON.stringify(v.StopSignal)}: expected a name such as SIGTERM or a number`);
  }
  c.bool(v.ArgsEscaped, p('ArgsEscaped'));
  c.strings(v.Shell, p('Shell'));
  c.strings(v.OnBuild, p('OnBuild'));
  c.integer(v.Memory, p('Memory'));
  c.integer(v.MemorySwap, p('MemorySwap'));
  c.integer(v.CpuShares, p('CpuShares'));
  const h = v.Healthcheck;
  if (h !== undefined && h !== null) {
    const hp = (k: string) => fieldPath(p('Healthcheck'), k);
    if (!isObject(h)) c.fail(p('Healthcheck'), `expected an object, got ${typeName(h)}`);
    else {
      if (c.strings(h.Test, hp('Test')) && h.Test.length > 0) {
        const kind = h.Test[0]!;
        if (!HEALTH_TESTS.includes(kind)) c.fail(fieldPath(hp('Test'), 0), `unknown test kind ${JSON.stringify(kind)}: expected NONE, CMD or CMD-SHELL`);
        else if (kind === 'CMD-SHELL' && h.Test.length !== 2) c.fail(hp('Test'), 'CMD-SHELL takes exactly one command string');
        else if (kind === 'CMD' && h.Test.length < 2) c.fail(hp('Test'), 'CMD needs a program to run');
      }
      for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) c.integer(h[k], hp(k), 0);
    }
  }
}

/** Every problem of an image config, each with its path under `path`. */
export function imageConfigProblems(value: unknown, path = ''): FieldProblem[] {
  const c = new Checker();
  if (!isObject(value)) {
    c.fail(path, `expected an image config object, got ${typeName(value)}`);
    return c.problems;
  }
  const p = (k: string) => fieldPath(path, k);
  c.timestamp(value.created, p('created'));
  c.string(value.author, p('author'));
  if (c.required(value, 'architecture', path)) c.string(value.architecture, p('architecture'));
  if (c.required(value, 'os', path)) c.string(value.os, p('os'));
  c.string(value['os.version'], p('os.version'));
  c.strings(value['os.features'], p('os.features'));
  c.string(value.variant, p('variant'));
  checkExecConfig(c, value.config, p('config'));

  if (c.required(value, 'rootfs', path)) {
    const r = value.rootfs;
    if (!isObject(r)) c.fail(p('rootfs'), `expected an object, got ${typeName(r)}`);
    else {
      if (c.required(r, 'type', p('rootfs')) && r.type !== 'layers') {
        c.fail(fieldPath(p('rootfs'), 'type'), `unsupported value ${JSON.stringify(r.type)}: must be "layers"`);
      }
      const dp = fieldPath(p('rootfs'), 'diff_ids');
      if (r.diff_ids === undefined || r.diff_ids === null) c.fail(dp, 'Required value');
      else if (!Array.isArray(r.diff_ids)) c.fail(dp, `expected a list of digests, got ${typeName(r.diff_ids)}`);
      else {
        r.diff_ids.forEach((d, i) => {
          const why = digestProblem(d);
          if (why) c.fail(fieldPath(dp, i), why);
        });
      }
    }
  }

  const history = value.history;
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) c.fail(p('history'), `expected a list, got ${typeName(history)}`);
    else {
      history.forEach((h, i) => {
        const hp = fieldPath(p('history'), i);
        if (!isObject(h)) return c.fail(hp, `expected an object, got ${typeName(h)}`);
        c.timestamp(h.created, fieldPath(hp, 'created'));
        for (const k of ['author', 'created_by', 'comment']) c.string(h[k], fieldPath(hp, k));
        c.bool(h.empty_layer, fieldPath(hp, 'empty_layer'));
      });
    }
  }
  return c.problems;
}

/** Every problem of an image manifest, each with its path under `path`. */
export function imageManifestProblems(value: unknown, path = ''): FieldProblem[] {
  const c = new Checker();
  if (!isObject(value)) {
    c.fail(path, `expected an image manifest object, got ${typeName(value)}`);
    return c.problems;
  }
  const p = (k: string) => fieldPath(path, k);
  if (c.required(value, 'schemaVersion', path) && value.schemaVersion !== 2) {
    c.fail(p('schemaVersion'), `unsupported value ${JSON.stringify(value.schemaVersion)}: must be 2`);
  }
  if (c.string(value.mediaType, p('mediaType')) && value.mediaType !== MEDIA_TYPE_IMAGE_MANIFEST && value.mediaType !== MEDIA_TYPE_DOCKER_MANIFEST) {
    c.fail(p('mediaType'), `unsupported value ${JSON.stringify(value.mediaType)}: expected ${MEDIA_TYPE_IMAGE_MANIFEST}`);
  }
  c.string(value.artifactType, p('artifactType'));
  if (c.required(value, 'config', path)) c.descriptor(value.config, p('config'));
  if (value.layers === undefined || value.layers === null) c.fail(p('layers'), 'Required value');
  else if (!Array.isArray(value.layers)) c.fail(p('layers'), `expected a list of descriptors, got ${typeName(value.layers)}`);
  else value.layers.forEach((l, i) => c.descriptor(l, fieldPath(p('layers'), i)));
  if (value.subject !== undefined && value.subject !== null) c.descriptor(value.subject, p('subject'));
  c.stringMap(value.annotations, p('annotations'));
  return c.problems;
}

function parseJson(input: string | Buffer | Uint8Array | unknown, what: string): unknown {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new SpecError({ path: '', message: `${what} is not JSON: ${(e as Error).message}` });
    }
  }
  return input;
}

/** Parses (from JSON text or bytes, or an object) and validates an image config; throws a SpecError listing every problem. */
export function parseImageConfig(input: string | Buffer | Uint8Array | unknown): ImageConfig {
  const value = parseJson(input, 'image config');
  const problems = imageConfigProblems(value);
  if (problems.length) throw new SpecError(problems);
  return value as ImageConfig;
}

/** Parses and validates an image manifest; throws a SpecError listing every problem. */
export function parseImageManifest(input: string | Buffer | Uint8Array | unknown): ImageManifest {
  const value = parseJson(input, 'image manifest');
  const problems = imageManifestProblems(value);
  if (problems.length) throw new SpecError(problems);
  return value as ImageManifest;
}
