// The images a pod can name before the container runtime has an image store of its own. This is the
// seam the runtime issue replaces: today an image resolves to how its program is started (an
// entrypoint, a default command and an environment) on the node's own filesystem.
//   busybox            Debian's busybox-static, its applets first on PATH
//   agnhost            kubelab's test server (src/workloads/agnhost.ts), agnhost-compatible
//   kubelab/dns        the cluster DNS add-on (src/dns)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../util/repo.ts';

export interface ResolvedImage {
  ref: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
}

export class ImageError extends Error {
  readonly reason = 'ErrImageNeverPull';
}

export const BUSYBOX = '/bin/busybox';

/** The repository part of an image reference, without registry, library/ and tag or digest. */
export function imageName(ref: string): string {
  let name = ref.split('@')[0]!;
  const lastColon = name.lastIndexOf(':');
  if (lastColon > name.lastIndexOf('/')) name = name.slice(0, lastColon);
  const parts = name.split('/');
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) parts.shift();
  if (parts[0] === 'library') parts.shift();
  return parts.join('/');
}

const AGNHOST = new Set(['agnhost', 'kubelab/agnhost', 'e2e-test-images/agnhost']);

/** Makes (once) the directory of busybox applet links that stands for the busybox image's /bin. */
export function busyboxBin(imagesDir: string): string {
  const dir = path.join(imagesDir, 'busybox', 'bin');
  if (!existsSync(path.join(dir, 'sh'))) {
    mkdirSync(dir, { recursive: true });
    const applets = execFileSync(BUSYBOX, ['--list']).toString().split('\n').filter(Boolean);
    for (const a of applets) {
      const link = path.join(dir, a);
      if (!existsSync(link)) symlinkSync(BUSYBOX, link);
    }
  }
  return dir;
}

export function resolveImage(ref: string, imagesDir: string): ResolvedImage {
  const name = imageName(ref);
  if (name === 'busybox') {
    if (!existsSync(BUSYBOX)) throw new ImageError(`image ${ref}: ${BUSYBOX} is missing (install Debian's busybox-static)`);
    return { ref, entrypoint: [], cmd: ['sh'], env: { PATH: busyboxBin(imagesDir) } };
  }
  if (name === 'kubelab/dns') {
    return { ref, entrypoint: [process.execPath, path.join(repoRoot(), 'dist', 'dns.mjs')], cmd: ['cluster'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } };
  }
  if (AGNHOST.has(name)) {
    return {
      ref,
      entrypoint: [path.join(repoRoot(), 'bin', 'agnhost')],
      cmd: ['netexec', '--http-port=8080', '--udp-port=8081'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    };
  }
  throw new ImageError(`image ${JSON.stringify(ref)} is not in kubelab's local image store (known: busybox, agnhost, kubelab/dns)`);
}

/** Kubernetes' rule: command replaces the entrypoint (and drops the image's cmd); args replace cmd. */
export function effectiveArgv(image: ResolvedImage, command?: string[], args?: string[]): string[] {
  if (command && command.length) return [...command, ...(args ?? [])];
  return [...image.entrypoint, ...(args && args.length ? args : image.cmd)];
}
