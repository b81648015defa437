// The command line of kubelab-init (src/runtime/init/kubelab-init.c) for one container: every
// decision the runtime made, spelled out as flags, so the transcript shows exactly how a container
// was started and a learner can replay it by hand. Pure.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../util/repo.ts';

export interface Bind {
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly?: boolean;
}

export interface ContainerLaunch {
  /** The network namespace to join: /run/netns/NAME or /proc/PID/ns/net. Absent: the caller's. */
  netns?: string;
  /** A network namespace of its own with only loopback (a build's RUN without network). */
  newNetns?: boolean;
  /** The mount point of the container's root (an empty directory). Absent: no rootfs (the pause holder). */
  rootfs?: string;
  /** overlayfs lower dirs, top-most first; upper and work dirs of the container's writable layer. */
  lower?: string[];
  upper?: string;
  work?: string;
  hostname?: string;
  cwd?: string;
  uid?: number;
  gid?: number;
  groups?: number[];
  /** Capability mask (bounding, and permitted/effective for root). */
  caps?: bigint;
  cgroups?: string[];
  /** [file, value] writes before joining (the cgroup's limits), in order. */
  cgroupSets?: [string, string][];
  binds?: Bind[];
  /** NAME=value, exactly the environment of the process. */
  env?: string[];
  /** Where the shim writes the container's PID (as the node sees it). */
  pidFile?: string;
  pause?: boolean;
  argv?: string[];
}

/** Where the compiled init lives (scripts/build.mjs compiles it with the rest of dist/). */
export function initBinary(): string {
  return path.join(repoRoot(), 'dist', 'kubelab-init');
}

export function initArgv(l: ContainerLaunch, binary = initBinary()): string[] {
  const a = [binary];
  if (l.netns) a.push('--netns', l.netns);
  else if (l.newNetns) a.push('--new-netns');
  if (l.hostname) a.push('--hostname', l.hostname);
  for (const c of l.cgroups ?? []) a.push('--cgroup', c);
  for (const [file, value] of l.cgroupSets ?? []) a.push('--cgroup-set', `${file}=${value}`);
  if (l.rootfs) {
    a.push('--rootfs', l.rootfs);
    if (l.lower?.length) a.push('--lower', l.lower.join(':'));
    if (l.upper) a.push('--upper', l.upper, '--work', l.work ?? '');
    for (const b of l.binds ?? []) a.push('--bind', `${b.source}=${b.target}${b.readOnly ? ':ro' : ''}`);
  }
  if (l.pidFile) a.push('--pid-file', l.pidFile);
  if (l.pause) return [...a, '--pause'];
  if (l.cwd) a.push('--cwd', l.cwd);
  a.push('--user', `${l.uid ?? 0}:${l.gid ?? 0}`);
  if (l.groups?.length) a.push('--groups', l.groups.join(','));
  if (l.caps !== undefined) a.push('--caps', l.caps.toString(16));
  for (const e of l.env ?? []) a.push('--env', e);
  return [...a, '--', ...(l.argv ?? [])];
}

export const initAvailable = () => existsSync(initBinary());
