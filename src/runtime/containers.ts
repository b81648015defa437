// src/runtime owns kubelab's container runtime: from a container spec and an image in the local
// store it makes a container the way runc does — overlay root, namespaces, cgroups, credentials,
// capabilities — through kubelab-init. This module is the runtime's entry: prepare() computes and
// makes the container's directories and cgroup (one logged command), launch argv included; the
// caller (the node daemon, or `kubelab docker`) spawns it through the driver. It never decides
// policy (restarts, probes): that is the kubelet's job in src/node.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Cmd } from '../driver/command.ts';
import { planCgroup, type CgroupLayout } from './cgroups.ts';
import { initArgv, type Bind, type ContainerLaunch } from './launch.ts';
import { capabilityMask, effectiveCapabilities, type CapabilitySecurityContext } from './spec/capabilities.ts';
import { containerProcess, type ContainerProcessSpec, type ImageRunDefaults, type ProcessOptions } from './spec/command.ts';
import type { CgroupSettings } from './spec/resources.ts';
import { readFromLayers, resolveCredentials } from './users.ts';

export interface ContainerRequest {
  /** Directory for this container's writable layer and mount point (recreated on every start). */
  dir: string;
  /** Image layers, top-most first, and the image's run defaults (its config's `config`). */
  layers: string[];
  image: ImageRunDefaults;
  container: ContainerProcessSpec & { securityContext?: ContainerProcessSpec['securityContext'] & CapabilitySecurityContext };
  options?: ProcessOptions;
  hostname: string;
  netns?: string;
  binds?: Bind[];
  /** Extra environment the runtime adds (HOSTNAME, KUBERNETES_SERVICE_*). */
  extraEnv?: Record<string, string>;
  cgroup?: { layout: CgroupLayout; rel: string; settings: CgroupSettings };
  owner: string;
  why: string;
}

export interface PreparedContainer {
  launch: ContainerLaunch;
  /** The command that starts it (kubelab-init), ready for Runner.spawn. */
  cmd: Cmd;
  pidFile: string;
}

/**
 * Everything needed to start a container; makes its directories. Throws SpecError/UserError with
 * the field at fault (unknown capability, bad user, no command) before anything is started.
 */
export function prepareContainer(req: ContainerRequest): PreparedContainer {
  const proc = containerProcess(req.container, req.image, req.options);
  const caps = effectiveCapabilities(req.container.securityContext, `${req.options?.path ?? 'spec.containers[0]'}.securityContext`);
  const creds = resolveCredentials(proc.user, readFromLayers(req.layers, 'etc/passwd'), readFromLayers(req.layers, 'etc/group'));
  // A restarted container gets a fresh writable layer, as with any runtime.
  rmSync(req.dir, { recursive: true, force: true });
  const rootfs = path.join(req.dir, 'rootfs');
  const upper = path.join(req.dir, 'upper');
  const work = path.join(req.dir, 'work');
  for (const d of [rootfs, upper, work]) mkdirSync(d, { recursive: true });
  // overlayfs needs at least one lower dir: an image with no layers (FROM scratch) gets an empty one.
  const lower = req.layers.length ? req.layers : [path.join(req.dir, 'empty')];
  if (!req.layers.length) mkdirSync(lower[0]!, { recursive: true });
  const env = [...proc.env];
  for (const [k, v] of Object.entries(req.extraEnv ?? {})) if (!env.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${v}`);
  const pidFile = path.join(req.dir, 'pid');
  // kubelab-init makes the cgroup, writes its limits and joins it: they show in its command line.
  const plan = req.cgroup ? planCgroup(req.cgroup.layout, req.cgroup.rel, req.cgroup.settings) : undefined;
  const launch: ContainerLaunch = {
    netns: req.netns,
    rootfs,
    lower,
    upper,
    work,
    hostname: req.hostname,
    cwd: proc.cwd,
    uid: creds.uid,
    gid: creds.gid,
    groups: creds.groups,
    caps: capabilityMask(caps),
    cgroups: plan?.join,
    cgroupSets: plan?.writes,
    binds: req.binds,
    env,
    pidFile,
    argv: proc.argv,
  };
  return { launch, cmd: { argv: initArgv(launch), why: req.why, owner: req.owner }, pidFile };
}
