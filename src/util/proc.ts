// Processes as /proc shows them. kubelab marks every process it starts with KUBELAB_CLUSTER=<name>
// in its environment and records its PID with its start time, so it only ever signals processes it
// started: a recycled PID has another start time, a foreign one lacks the mark.
import { readdirSync, readFileSync } from 'node:fs';

/** The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie has finished
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** The real uid and gid of a process (the Uid and Gid lines of /proc/PID/status), or undefined. */
export function credentialsOf(pid: number): { uid: number; gid: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const gid = /^Gid:\s+(\d+)/m.exec(status)?.[1];
    return uid !== undefined && gid !== undefined ? { uid: Number(uid), gid: Number(gid) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * nsenter's arguments to enter a container as `kubectl exec` / `docker exec` do: all its namespaces,
 * its working directory, and its user (a container running as uid 1001 is entered as uid 1001).
 */
export function enterArgs(pid: number): string[] {
  const creds = credentialsOf(pid);
  const user = creds && creds.uid !== 0 ? ['-S', String(creds.uid), '-G', String(creds.gid)] : [];
  return ['-t', String(pid), '--net', '--uts', '--mount', '--ipc', '--pid', '--wd', ...user];
}

export function environ(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  } catch {
    /* gone */
  }
  return env;
}

export interface ProcRef {
  pid: number;
  startTime: number;
}

/** True while the very process we started (same PID and start time) is running. */
export function alive(ref: ProcRef): boolean {
  return startTime(ref.pid) === ref.startTime;
}

export function signalGroup(ref: ProcRef, signal: NodeJS.Signals): void {
  if (!alive(ref)) return;
  try {
    process.kill(-ref.pid, signal);
  } catch {
    try {
      process.kill(ref.pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Sends SIGTERM, waits up to graceMs for the process to end, then SIGKILL. */
export async function stopProcess(ref: ProcRef, graceMs: number): Promise<void> {
  if (!alive(ref)) return;
  signalGroup(ref, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(ref) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(ref)) {
    signalGroup(ref, 'SIGKILL');
    const hard = Date.now() + 5000;
    while (alive(ref) && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every running process whose environment carries `key=value`. */
export function findMarked(key: string, value: string): ProcRef[] {
  const found: ProcRef[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (environ(pid).get(key) !== value) continue;
    const st = startTime(pid);
    if (st !== undefined) found.push({ pid, startTime: st });
  }
  return found;
}

export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
