// Container cgroups: where a container's cgroup lives on each hierarchy, what is written there (from
// the pure settings of ./spec/resources.ts), and what its statistics say afterwards.
//
// Layout, like the kubelet's kubepods/<qos>/pod<uid>/<container>:
//   v1: /sys/fs/cgroup/{cpu,cpuacct,memory,pids}/kubelab/<cluster>/<qos>/pod<uid>/<container>
//   v2: /sys/fs/cgroup/kubelab/<cluster>/<qos>/pod<uid>/<container>  (controllers enabled on the way down)
// The version is detected at run time: v2 when the unified hierarchy has the memory controller.
// Planning is pure (planCgroup, cgroupScript); applying is one logged shell command; reading is fs.
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { QOSClass } from './spec/qos.ts';
import type { CgroupSettings } from './spec/resources.ts';

export interface CgroupLayout {
  version: 1 | 2;
  /** The cgroup filesystem root, /sys/fs/cgroup. */
  root: string;
}

/** The v1 controllers a container is placed in (each its own hierarchy on our machines). */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;

export function detectCgroups(root = '/sys/fs/cgroup'): CgroupLayout {
  try {
    const controllers = readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (controllers.includes('memory') && controllers.includes('cpu')) return { version: 2, root };
  } catch {
    /* no unified hierarchy at the root */
  }
  return { version: 1, root };
}

/** The path below each hierarchy's root, e.g. kubelab/lab/burstable/pod<uid>/web. */
export function containerCgroupPath(cluster: string, qos: QOSClass, podUid: string, container: string): string {
  return path.posix.join('kubelab', cluster, qos.toLowerCase(), `pod${podUid}`, container);
}

export const clusterCgroupPath = (cluster: string) => path.posix.join('kubelab', cluster);

export interface CgroupPlan {
  /** Directories to create, parents first. */
  mkdirs: string[];
  /** [file, value] writes, in order. */
  writes: [string, string][];
  /** The directories the process joins. */
  join: string[];
}

/**
 * What to create and write for one container. Pure: the same settings give the same plan, which is
 * what the unit tests check and what the qemu guest applies to prove the v2 half.
 */
export function planCgroup(layout: CgroupLayout, rel: string, settings: CgroupSettings): CgroupPlan {
  const parts = rel.split('/');
  const mkdirs: string[] = [];
  const writes: [string, string][] = [];
  if (layout.version === 2) {
    // Controllers must be enabled in every ancestor's subtree_control for the leaf to get the files.
    for (let i = 1; i <= parts.length; i++) mkdirs.push(path.join(layout.root, ...parts.slice(0, i)));
    for (let i = 0; i < parts.length; i++) writes.push([path.join(layout.root, ...parts.slice(0, i), 'cgroup.subtree_control'), '+cpu +memory +pids']);
    const leaf = path.join(layout.root, rel);
    for (const [file, value] of Object.entries(settings.v2)) writes.push([path.join(leaf, file), value]);
    return { mkdirs, writes, join: [leaf] };
  }
  for (const c of V1_CONTROLLERS) mkdirs.push(path.join(layout.root, c, rel));
  for (const [file, value] of Object.entries(settings.v1)) {
    const controller = file.startsWith('memory.') ? 'memory' : 'cpu';
    writes.push([path.join(layout.root, controller, rel, file), value]);
  }
  return { mkdirs, writes, join: V1_CONTROLLERS.map((c) => path.join(layout.root, c, rel)) };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The plan as one POSIX shell script: a learner can read and replay it from the transcript. */
export function cgroupScript(plan: CgroupPlan): string {
  const lines = ['set -e', `mkdir -p ${plan.mkdirs.map(q).join(' ')}`];
  for (const [file, value] of plan.writes) lines.push(`echo ${q(value)} > ${q(file)}`);
  return lines.join('\n') + '\n';
}

export interface CgroupStats {
  /** CPU time used, nanoseconds. */
  cpuUsageNs: number;
  /** CFS periods elapsed and those in which the cgroup was throttled, and the time throttled (ns). */
  nrPeriods: number;
  nrThrottled: number;
  throttledNs: number;
  memoryBytes: number;
  /** null: no limit. */
  memoryLimitBytes: number | null;
  oomKills: number;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function keyed(text: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}

/** Statistics of a cgroup (undefined when it does not exist). */
export function readCgroupStats(layout: CgroupLayout, rel: string): CgroupStats | undefined {
  if (layout.version === 2) {
    const dir = path.join(layout.root, rel);
    if (!existsSync(dir)) return undefined;
    const cpu = keyed(readText(path.join(dir, 'cpu.stat')));
    const max = (readText(path.join(dir, 'memory.max')) ?? 'max').trim();
    return {
      cpuUsageNs: (cpu.get('usage_usec') ?? 0) * 1000,
      nrPeriods: cpu.get('nr_periods') ?? 0,
      nrThrottled: cpu.get('nr_throttled') ?? 0,
      throttledNs: (cpu.get('throttled_usec') ?? 0) * 1000,
      memoryBytes: Number((readText(path.join(dir, 'memory.current')) ?? '0').trim()),
      memoryLimitBytes: max === 'max' ? null : Number(max),
      oomKills: keyed(readText(path.join(dir, 'memory.events'))).get('oom_kill') ?? 0,
    };
  }
  const cpuDir = path.join(layout.root, 'cpu', rel);
  const memDir = path.join(layout.root, 'memory', rel);
  if (!existsSync(cpuDir) && !existsSync(memDir)) return undefined;
  const cpu = keyed(readText(path.join(cpuDir, 'cpu.stat')));
  const limit = Number((readText(path.join(memDir, 'memory.limit_in_bytes')) ?? '0').trim());
  return {
    cpuUsageNs: Number((readText(path.join(layout.root, 'cpuacct', rel, 'cpuacct.usage')) ?? '0').trim()),
    nrPeriods: cpu.get('nr_periods') ?? 0,
    nrThrottled: cpu.get('nr_throttled') ?? 0,
    throttledNs: cpu.get('throttled_time') ?? 0,
    memoryBytes: Number((readText(path.join(memDir, 'memory.usage_in_bytes')) ?? '0').trim()),
    // v1 reports "no limit" as the largest page-aligned 64-bit number.
    memoryLimitBytes: limit >= 2 ** 62 || limit <= 0 ? null : limit,
    oomKills: keyed(readText(path.join(memDir, 'memory.oom_control'))).get('oom_kill') ?? 0,
  };
}

/** Every hierarchy root under which kubelab keeps cgroups for `rel` (kubelab/<cluster>/...). */
export function hierarchyDirs(layout: CgroupLayout, rel: string): string[] {
  if (layout.version === 2) return [path.join(layout.root, rel)];
  return V1_CONTROLLERS.map((c) => path.join(layout.root, c, rel));
}

/**
 * Removes a cgroup subtree, deepest first. A cgroup can only be removed once no process is in it,
 * so callers stop the processes first. Returns the directories that could not be removed.
 */
export function removeCgroupTree(layout: CgroupLayout, rel: string): string[] {
  const left: string[] = [];
  const remove = (dir: string): void => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return; // already gone
    }
    for (const e of entries) {
      const p = path.join(dir, e);
      try {
        if (statSync(p).isDirectory()) remove(p);
      } catch {
        /* raced with removal */
      }
    }
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
    }
  };
  for (const d of hierarchyDirs(layout, rel)) remove(d);
  return left;
}

/**
 * Removes a container's or pod's cgroup subtree even when its last processes are still dying: a
 * killed container (its shim gone, the container SIGKILLed by the parent-death signal) can take a
 * moment to leave its cgroup, and rmdir fails until it has. Any process still inside is one of the
 * container's own (only kubelab-init joins these cgroups), so it is killed. Bounded; returns what
 * could not be removed.
 */
export async function drainCgroupTree(layout: CgroupLayout, rel: string, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = removeCgroupTree(layout, rel);
    if (!left.length || Date.now() > deadline) return left;
    // A cgroup that holds a process cannot be removed, so every such cgroup is among those left.
    for (const dir of left) {
      for (const pid of (readText(path.join(dir, 'cgroup.procs')) ?? '').split('\n').filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
