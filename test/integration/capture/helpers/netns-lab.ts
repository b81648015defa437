// A throwaway two-namespace overlay for capture tests: `kltest-<hex>-a` and `-b` joined by a veth
// pair (underlay 192.168.56.11/.12) with a flannel-style VXLAN device on each side (VNI 1, UDP
// 8472, overlay 10.244.1.0 and 10.244.2.0). Everything runs inside those namespaces (`ip -n`,
// `ip netns exec`); the host's namespace is never touched. Processes are tracked by PID so
// cleanup kills exactly what was started.

import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';

export const UNDERLAY = { a: '192.168.56.11', b: '192.168.56.12' };
export const OVERLAY = { a: '10.244.1.0', b: '10.244.2.0' };

export interface Spawned {
  proc: ResultPromise;
}

export interface Lab {
  a: string;
  b: string;
  /** Runs argv inside a namespace and returns stdout; throws with stderr on failure. */
  exec(ns: string, argv: string[], timeoutMs?: number): Promise<string>;
  /**
   * Starts a long-running process inside a namespace; resolves once `ready` appears in its
   * output (at once when `ready` is null). The process is wrapped in an object because an
   * execa subprocess is itself a promise, which an async function would wait for.
   */
  spawn(ns: string, argv: string[], ready: RegExp | null, stream?: 'stdout' | 'stderr'): Promise<Spawned>;
  /** Sends SIGINT to a process we started and waits (bounded) for it to exit. */
  interrupt(spawned: Spawned): Promise<void>;
  /** Polls a namespace until a TCP port is listening (bounded). */
  waitForListen(ns: string, port: number): Promise<void>;
  /** Kills every process still running and deletes the namespaces; reports what failed. */
  destroy(): Promise<string[]>;
}

const COMMAND_TIMEOUT_MS = 30_000;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export async function missingTools(tools: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of tools) {
    const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (r.exitCode !== 0) missing.push(tool);
  }
  return missing;
}

export async function createLab(): Promise<Lab> {
  const prefix = `kltest-${randomBytes(3).toString('hex')}`;
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  const started: ResultPromise[] = [];
  const created: string[] = [];

  const ip = async (args: string[]): Promise<void> => {
    await execa('ip', args, { timeout: COMMAND_TIMEOUT_MS });
  };

  const lab: Lab = {
    a,
    b,
    async exec(ns, argv, timeoutMs = COMMAND_TIMEOUT_MS) {
      const r = await execa('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs, reject: false });
      if (r.exitCode !== 0) throw new Error(`in ${ns}: ${argv.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
      return r.stdout;
    },
    async spawn(ns, argv, ready, stream = 'stdout') {
      // `ip netns exec` execs the command in place, so the PID is the command's own.
      const proc: ResultPromise = execa('ip', ['netns', 'exec', ns, ...argv], { reject: false });
      started.push(proc);
      if (ready === null) return { proc };
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        const onData = (chunk: Buffer): void => {
          seen += chunk.toString();
          if (ready.test(seen)) resolve();
        };
        proc[stream]?.on('data', onData);
        void proc.then((r) => reject(new Error(`${argv.join(' ')} exited ${r.exitCode} before ready: ${String(r.stderr)}`)));
      });
      return { proc };
    },
    async waitForListen(ns, port) {
      for (let i = 0; i < 100; i++) {
        const r = await execa('ip', ['netns', 'exec', ns, 'busybox', 'netstat', '-ltn'], { reject: false });
        if (new RegExp(`:${port}\\s`).test(r.stdout)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`nothing listens on port ${port} in ${ns}`);
    },
    async interrupt({ proc }) {
      if (proc.pid === undefined || proc.exitCode !== null) return;
      process.kill(proc.pid, 'SIGINT');
      const timer = setTimeout(() => { if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL'); }, 10_000);
      await proc;
      clearTimeout(timer);
    },
    async destroy() {
      const failures: string[] = [];
      for (const proc of started) {
        if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
          try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
          await proc.catch(() => undefined);
        }
      }
      for (const ns of created.reverse()) {
        const r = await execa('ip', ['netns', 'del', ns], { reject: false });
        if (r.exitCode !== 0 && !/No such file/.test(r.stderr)) failures.push(`ip netns del ${ns}: ${r.stderr}`);
      }
      return failures;
    },
  };

  try {
    for (const ns of [a, b]) {
      await ip(['netns', 'add', ns]);
      created.push(ns);
    }
    await ip(['-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
    for (const [ns, side] of [[a, 'a'], [b, 'b']] as const) {
      const peer = side === 'a' ? 'b' : 'a';
      await ip(['-n', ns, 'addr', 'add', `${UNDERLAY[side]}/24`, 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', ns, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472',
        'local', UNDERLAY[side], 'remote', UNDERLAY[peer], 'dev', 'eth0']);
      await ip(['-n', ns, 'addr', 'add', `${OVERLAY[side]}/16`, 'dev', 'flannel.1']);
      await ip(['-n', ns, 'link', 'set', 'flannel.1', 'up']);
    }
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}
