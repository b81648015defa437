// What `up` checks before it changes anything: root, and every program it drives, with the Debian
// package that provides it.
import { existsSync } from 'node:fs';
import { which } from '../driver/runner.ts';

export const REQUIRED_TOOLS: { program: string; pkg: string }[] = [
  { program: 'ip', pkg: 'iproute2' },
  { program: 'iptables', pkg: 'iptables' },
  { program: 'iptables-restore', pkg: 'iptables' },
  { program: 'iptables-legacy-restore', pkg: 'iptables' },
  { program: 'conntrack', pkg: 'conntrack' },
  { program: 'nsenter', pkg: 'util-linux' },
  { program: 'unshare', pkg: 'util-linux' },
  { program: 'sysctl', pkg: 'procps' },
  { program: 'etcd', pkg: 'etcd-server' },
  { program: '/bin/busybox', pkg: 'busybox-static' },
];

export class PreflightError extends Error {}

export function preflight(opts: { requireRoot?: boolean; tools?: typeof REQUIRED_TOOLS } = {}): void {
  if ((opts.requireRoot ?? true) && process.getuid?.() !== 0) {
    throw new PreflightError('kubelab up needs root: it creates network namespaces, links and firewall rules (run it with sudo)');
  }
  const missing = (opts.tools ?? REQUIRED_TOOLS).filter((t) => {
    const found = which(t.program);
    return !(found.includes('/') && existsSync(found));
  });
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))];
    throw new PreflightError(
      `missing ${missing.map((m) => m.program).join(', ')}: install with "apt-get install -y ${pkgs.join(' ')}" (or run scripts/setup.sh)`,
    );
  }
}
