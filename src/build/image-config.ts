// The image config a build writes, instruction by instruction, as BuildKit's Dockerfile frontend
// writes it (dockerfile2llb's dispatch functions): Env, Cmd, Entrypoint, WorkingDir, User,
// ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, Shell, OnBuild, and a history entry per
// instruction whose `created_by` reads like BuildKit's (`RUN |1 V=2 /bin/sh -c make # buildkit`,
// `EXPOSE map[80/tcp:{}]`, `CMD ["sh"]`). Pure: values in, config out.
import type { OciImageConfig } from '../image/store.ts';

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
export const DEFAULT_SHELL = ['/bin/sh', '-c'];
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type ExecConfig = NonNullable<OciImageConfig['config']>;
export type HistoryEntry = NonNullable<OciImageConfig['history']>[number];

export class ConfigError extends Error {}

/** A fresh config for `FROM scratch`: linux/amd64, PATH set as BuildKit does for scratch. */
export function scratchConfig(): OciImageConfig {
  return { architecture: 'amd64', os: 'linux', config: { Env: [`PATH=${DEFAULT_PATH}`] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

/** A deep copy of a base image's config to build on; the base's ONBUILD triggers are not inherited. */
export function baseConfig(base: OciImageConfig): OciImageConfig {
  const copy: OciImageConfig = JSON.parse(JSON.stringify(base));
  copy.config ??= {};
  delete copy.config.OnBuild;
  copy.history ??= [];
  if (!copy.config.Env?.some((e) => e.startsWith('PATH='))) copy.config.Env = [...(copy.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
  return copy;
}

/** Env entries as a map, in order (an entry without '=' is a name with an empty value). */
export function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    if (eq < 0) m.set(e, '');
    else m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return m;
}

/** Sets (or replaces, in place) one variable in an Env list. */
export function setEnv(env: readonly string[] | null | undefined, key: string, value: string): string[] {
  const out = [...(env ?? [])];
  const i = out.findIndex((e) => e === key || e.startsWith(`${key}=`));
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** The image's shell (SHELL, or /bin/sh -c). */
export const shellOf = (c: OciImageConfig) => (c.config?.Shell?.length ? c.config.Shell : DEFAULT_SHELL);

/** Go's %q of a []string, as BuildKit prints CMD and ENTRYPOINT into history: ["a" "b c"]. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

export function addHistory(c: OciImageConfig, createdBy: string, emptyLayer: boolean, created?: string): void {
  (c.history ??= []).push({ ...(created ? { created } : {}), created_by: createdBy, comment: HISTORY_COMMENT, ...(emptyLayer ? { empty_layer: true } : {}) });
}

/**
 * EXPOSE's ports: `80`, `80/tcp`, `53/udp`, `132/sctp`, ranges `8000-8002/tcp` (one entry per port,
 * as Docker's nat.ParsePortSpecs makes them). Throws naming the bad one.
 */
export function exposedPorts(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(spec);
    if (!m) throw new ConfigError(`invalid port ${JSON.stringify(spec)}: expected PORT[-END][/tcp|/udp|/sctp]`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new ConfigError(`invalid port ${JSON.stringify(spec)}: unknown protocol ${JSON.stringify(m[3])}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start < 0 || start > 65535 || end < start || end > 65535) throw new ConfigError(`invalid port ${JSON.stringify(spec)}: out of range`);
    for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

const SIGNALS = [
  'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT',
  'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS',
];

/** STOPSIGNAL's value as Docker's signal.ParseSignal accepts it: SIGTERM, TERM, 15, SIGRTMIN+3. */
export function checkSignal(sig: string): void {
  if (/^\d+$/.test(sig) && Number(sig) >= 1 && Number(sig) <= 64) return;
  const name = sig.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS.includes(name)) return;
  const rt = /^RTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt && Math.abs(Number(rt[2] ?? 0)) <= 30) return;
  throw new ConfigError(`invalid signal: ${sig}`);
}

/** Go's time.Duration String() for a history line (BuildKit prints Healthcheck with %+v). */
export function goDuration(ns: number | undefined): string {
  if (!ns) return '0s';
  if (ns < 1e9) {
    if (ns >= 1e6) return `${+(ns / 1e6).toFixed(6)}ms`;
    if (ns >= 1e3) return `${+(ns / 1e3).toFixed(3)}µs`;
    return `${ns}ns`;
  }
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const sec = +((ns % 60e9) / 1e9).toFixed(9);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec}s`;
}
