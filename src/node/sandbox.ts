// The record a node keeps for each pod it runs, written before any kernel object is made so that a
// crash at any point leaves enough behind for the next start to finish or undo the work.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContainerStatus } from '../api/types.ts';

export interface ContainerRecord {
  name: string;
  /** The shim (kubelab-init's parent half) the daemon started and watches. */
  pid?: number;
  startTime?: number;
  /** The container's PID 1, as the node sees it (for exec, probes, explain). */
  containerPid?: number;
  startedAt?: string;
  restartCount: number;
  state: ContainerStatus['state'];
  lastState?: ContainerStatus['state'];
  /** When the next restart may happen (crash-loop back-off), epoch ms. */
  nextStart?: number;
  backoffSeconds?: number;
}

export interface SandboxRecord {
  uid: string;
  namespace: string;
  name: string;
  netns: string;
  hostVeth: string;
  ip?: string;
  hostname: string;
  networkReady: boolean;
  /** The sandbox holder (kubelab-init --pause) that owns the pod's namespaces, like Kubernetes' pause. */
  pause?: { pid: number; startTime: number };
  startTime: string;
  containers: Record<string, ContainerRecord>;
}

export class SandboxStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(uid: string) {
    return path.join(this.dir, uid, 'sandbox.json');
  }

  dirOf(uid: string) {
    return path.join(this.dir, uid);
  }

  load(uid: string): SandboxRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.file(uid), 'utf8'));
    } catch {
      return undefined;
    }
  }

  all(): SandboxRecord[] {
    return readdirSync(this.dir)
      .map((uid) => this.load(uid))
      .filter((r): r is SandboxRecord => !!r);
  }

  save(rec: SandboxRecord): void {
    mkdirSync(path.dirname(this.file(rec.uid)), { recursive: true });
    const tmp = this.file(rec.uid) + '.tmp';
    writeFileSync(tmp, JSON.stringify(rec, null, 2));
    renameSync(tmp, this.file(rec.uid));
  }

  remove(uid: string): void {
    rmSync(path.join(this.dir, uid), { recursive: true, force: true });
  }

  exists(uid: string): boolean {
    return existsSync(this.file(uid));
  }
}
