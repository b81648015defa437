// RUN: the step's command runs in kubelab's own container runtime (kubelab-init, the same program
// that starts pods' containers) on an overlay of the image so far, and what it wrote is the overlay's
// upper directory: that directory, tarred with OCI whiteouts, is the step's layer.
//
// As BuildKit runs a step: hostname `buildkitsandbox`, the image's Env plus the build args in scope,
// its User and WorkingDir, Docker's default capabilities, /etc/hosts bound in; no network unless the
// build asked for the lab's (`--network lab`: the network namespace of a node of a running cluster,
// where pods, services and the lab's "internet" resolve and answer). The mount points the runtime
// had to create (/proc, /dev, /sys, /etc/hosts, ...) are removed from the upper directory afterwards
// so they do not end up in the layer, as BuildKit removes its mount stubs.
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Runner } from '../driver/runner.ts';
import type { RootfsView } from '../image/rootfs-view.ts';
import { initArgv, type Bind } from '../runtime/launch.ts';
import { capabilityMask, effectiveCapabilities } from '../runtime/spec/capabilities.ts';
import { parseImageUser } from '../runtime/spec/command.ts';
import { resolveCredentials } from '../runtime/users.ts';

export const BUILD_HOSTNAME = 'buildkitsandbox';

export interface RunStep {
  /** The argv after the shell was prepended (shell form) or as written (exec form). */
  argv: string[];
  env: string[];
  user: string;
  workdir: string;
  /** `none`: a network namespace with only loopback; otherwise the netns path to join. */
  netns: 'none' | string;
  /** A resolv.conf to bind (only with a network). */
  resolvConf?: string;
  /** Files to bind into the step (a here-document script under /dev/pipes). */
  extraBinds?: Bind[];
}

export interface RunResultDirs {
  upper: string;
  exitCode: number;
}

/** Paths the runtime may create in the root as mount points, checked after the step. */
const STUBS = ['/proc', '/dev', '/sys', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname'];

/** Resolves a user (USER, --chown) against the image's own /etc/passwd and /etc/group. */
export function stepCredentials(view: RootfsView, user: string, field = 'USER') {
  const parsed = parseImageUser(user, field) ?? { user: 0 };
  return resolveCredentials(parsed, view.readText('/etc/passwd'), view.readText('/etc/group'));
}

/**
 * Runs one RUN step over `lower` (the image's layer dirs, top-most first) in `work` (a scratch
 * directory of the build) and returns the upper directory it wrote into.
 */
export async function runStep(
  runner: Runner,
  view: RootfsView,
  work: string,
  step: RunStep,
  onOutput: (chunk: Buffer) => void,
  why: string,
  signal?: AbortSignal,
): Promise<RunResultDirs> {
  const rootfs = path.join(work, 'rootfs');
  const upper = path.join(work, 'upper');
  const ovlWork = path.join(work, 'work');
  for (const d of [rootfs, upper, ovlWork]) mkdirSync(d, { recursive: true });
  const lower = view.layers.length ? [...view.layers] : [path.join(work, 'empty')];
  if (!view.layers.length) mkdirSync(lower[0]!, { recursive: true });
  const hosts = path.join(work, 'hosts');
  writeFileSync(hosts, `127.0.0.1\tlocalhost ${BUILD_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  const binds: Bind[] = [{ source: hosts, target: '/etc/hosts' }, ...(step.extraBinds ?? [])];
  if (step.resolvConf) {
    const rc = path.join(work, 'resolv.conf');
    writeFileSync(rc, step.resolvConf);
    binds.push({ source: rc, target: '/etc/resolv.conf' });
  }
  const creds = stepCredentials(view, step.user);
  const existed = new Set(STUBS.filter((p) => view.stat(p, false)));
  const argv = initArgv({
    ...(step.netns === 'none' ? { newNetns: true } : { netns: step.netns }),
    rootfs,
    lower,
    upper,
    work: ovlWork,
    hostname: BUILD_HOSTNAME,
    cwd: step.workdir,
    uid: creds.uid,
    gid: creds.gid,
    groups: creds.groups,
    caps: capabilityMask(effectiveCapabilities(undefined)),
    binds,
    env: step.env,
    argv: step.argv,
  });
  const exitCode = await runner.stream(
    { argv, why },
    { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', KUBELAB_BUILD: String(process.pid) }, onOutput: (c) => onOutput(c), signal },
  );
  removeStubs(upper, existed, view);
  rmSync(ovlWork, { recursive: true, force: true });
  rmSync(rootfs, { recursive: true, force: true });
  return { upper, exitCode };
}

/** Deletes the mount points the runtime created (empty, absent from the image before the step). */
function removeStubs(upper: string, existed: Set<string>, view: RootfsView): void {
  for (const stub of [...STUBS].reverse()) {
    if (existed.has(stub)) continue;
    const p = path.join(upper, stub);
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isDirectory() ? readdirSync(p).length === 0 : st.size === 0) rmSync(p, { recursive: true, force: true });
  }
  // /etc made (or copied up) only to hold a stub goes too, unless the step changed it.
  const etc = path.join(upper, 'etc');
  if (existsSync(etc) && readdirSync(etc).length === 0) {
    const mine = statSync(etc);
    const before = view.stat('/etc', false)?.stat;
    if (!before || ((before.mode & 0o7777) === (mine.mode & 0o7777) && before.uid === mine.uid && before.gid === mine.gid)) rmdirSync(etc);
  }
}
