// Daemons the image tests start (a registry, dockerd): spawned in their own process group with a
// log file, known by PID and start time, stopped by that PID only (SIGTERM, then SIGKILL after a
// bound), so a recycled PID is never signalled.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { alive, startTime, type ProcRef } from '../../../../src/util/proc.ts';

export interface Daemon extends ProcRef {
  argv: string[];
  logFile: string;
  /** The log's last lines, for error messages. */
  logTail(lines?: number): string;
}

export function spawnDaemon(argv: string[], logFile: string, env: NodeJS.ProcessEnv): Daemon {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${argv.join(' ')}`);
    const st = startTime(child.pid);
    return {
      pid: child.pid,
      startTime: st ?? -1,
      argv,
      logFile,
      logTail: (lines = 30) => {
        try {
          return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
        } catch {
          return '(no log)';
        }
      },
    };
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Last-resort cleanups, run synchronously if the test process exits before its teardown did (ava
 * ending a timed-out worker, process.exit): SIGKILL by PID, remove directories. Not run on SIGKILL
 * of the test process itself. Returns the function that unregisters it, for the normal teardown.
 */
const exitCleanups = new Set<() => void>();
let exitHooked = false;
export function atExit(cleanup: () => void): () => void {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const c of exitCleanups) {
        try {
          c();
        } catch {
          /* best effort: the process is ending */
        }
      }
    });
  }
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

/** SIGKILL now, if that very process still runs (for atExit cleanups). */
export function killNow(p: ProcRef): void {
  if (!running(p)) return;
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** True while that very process (same PID and start time) runs and is not a zombie. */
export const running = alive;

/** Waits up to `ms` for the process to end. */
export async function waitExit(p: ProcRef, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (running(p) && Date.now() < deadline) await sleep(50);
  return !running(p);
}

function signal(p: ProcRef, sig: NodeJS.Signals): void {
  if (!running(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    /* gone meanwhile */
  }
}

/** SIGTERM, up to graceMs, then SIGKILL and up to 5 s more. Returns how it ended. */
export async function stopDaemon(p: ProcRef, graceMs: number): Promise<'not-running' | 'terminated' | 'killed' | 'survived'> {
  if (!running(p)) return 'not-running';
  signal(p, 'SIGTERM');
  if (await waitExit(p, graceMs)) return 'terminated';
  signal(p, 'SIGKILL');
  return (await waitExit(p, 5000)) ? 'killed' : 'survived';
}

/** The running children of a process (from /proc/PID/task/PID/children), with their start times. */
export function childrenOf(p: ProcRef): ProcRef[] {
  try {
    return readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .map((pid) => ({ pid, startTime: startTime(pid) ?? -1 }))
      .filter((c) => c.startTime >= 0);
  } catch {
    return [];
  }
}

/** A TCP port free on 127.0.0.1 right now (the caller retries if someone takes it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `ready` every 100 ms for at most `ms`; stops early when `alive` turns false. */
export async function waitReady(ready: () => Promise<boolean>, alive: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return true;
    if (!alive()) return false;
    await sleep(100);
  }
  return false;
}
