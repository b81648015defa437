// Runs a shell script in a qemu guest that boots Debian's own kernel (scripts/vm/build-guest.sh), to
// prove on a real kernel what this machine's kernel lacks (IPVS, cgroup v2 controllers). The guest
// has no network to the host: everything the script does stays inside it. qemu is always stopped by
// its PID, and the run is bounded in time.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../util/repo.ts';

export const VM_CACHE = process.env.KUBELAB_VM_CACHE ?? '/var/cache/kubelab/vm';

export interface GuestResult {
  /** What the script printed, between the guest's markers. */
  output: string;
  exitCode: number | undefined;
  /** The whole serial console, for diagnosis. */
  console: string;
  seconds: number;
}

/** Pure: the script's output and exit status from the serial console. */
export function parseConsole(text: string): { output: string; exitCode: number | undefined } {
  const clean = text.replace(/\r/g, '');
  const begin = clean.indexOf('KUBELAB-GUEST-BEGIN\n');
  const end = clean.indexOf('KUBELAB-GUEST-END');
  if (begin < 0) return { output: '', exitCode: undefined };
  const body = clean.slice(begin + 'KUBELAB-GUEST-BEGIN\n'.length, end < 0 ? undefined : end);
  const m = /KUBELAB-GUEST-EXIT (\d+)\n?$/.exec(body.trimEnd() + '\n');
  return { output: m ? body.slice(0, m.index) : body, exitCode: m ? Number(m[1]) : undefined };
}

export function qemuArgs(kernel: string, initrd: string, memMB = 512): string[] {
  return ['-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1', '-m', String(memMB), '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio', '-net', 'none', '-smp', '1'];
}

export function guestAvailable(): { ok: boolean; why?: string } {
  try {
    execFileSync('which', ['qemu-system-x86_64']);
  } catch {
    return { ok: false, why: 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)' };
  }
  return { ok: true };
}

/** Builds the guest if needed, packs the initramfs with the script as /test.sh, boots and collects. */
export async function runInGuest(script: string, opts: { timeoutMs?: number; memMB?: number } = {}): Promise<GuestResult> {
  execFileSync('bash', [path.join(repoRoot(), 'scripts/vm/build-guest.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const work = mkdtempSync(path.join(os.tmpdir(), 'kubelab-guest-'));
  try {
    writeFileSync(path.join(VM_CACHE, 'initrd.base', 'test.sh'), script);
    const initrd = path.join(work, 'initrd.gz');
    execFileSync('sh', ['-c', `cd "${path.join(VM_CACHE, 'initrd.base')}" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "${initrd}"`]);
    const started = Date.now();
    const qemu = spawn('qemu-system-x86_64', qemuArgs(path.join(VM_CACHE, 'vmlinuz'), initrd, opts.memMB), { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    qemu.stdout.on('data', (c) => (text += c.toString()));
    qemu.stderr.on('data', (c) => (text += c.toString()));
    const timeoutMs = opts.timeoutMs ?? 180_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        qemu.kill('SIGKILL');
      }, timeoutMs);
      qemu.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { ...parseConsole(text), console: text, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (existsSync(path.join(VM_CACHE, 'initrd.base', 'test.sh'))) rmSync(path.join(VM_CACHE, 'initrd.base', 'test.sh'));
  }
}
