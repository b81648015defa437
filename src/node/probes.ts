// Container probes, run by the node as the kubelet runs them: HTTP and TCP from the node's own
// network namespace to the pod's IP (so a NetworkPolicy never blocks them, as in Kubernetes), exec
// inside the container's namespaces.
import http from 'node:http';
import net from 'node:net';
import { execa } from 'execa';
import type { Container, Probe } from '../api/types.ts';
import { enterArgs } from '../util/proc.ts';

export type ProbeResult = { ok: true } | { ok: false; message: string };

function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(probe: Probe, container: Container, podIP: string, pid: number | undefined): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port, container);
    if (!port) return { ok: false, message: `port ${probe.httpGet.port} is not a port of the container` };
    return new Promise((resolve) => {
      const req = http.get({ host: probe.httpGet!.host ?? podIP, port, path: probe.httpGet!.path ?? '/', timeout: timeoutMs, agent: false }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ ok: false, message: `Get "http://${podIP}:${port}${probe.httpGet!.path ?? '/'}": ${e.message}` }));
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (!port) return { ok: false, message: `port ${probe.tcpSocket.port} is not a port of the container` };
    return new Promise((resolve) => {
      const sock = net.connect({ host: probe.tcpSocket!.host ?? podIP, port, timeout: timeoutMs });
      sock.on('connect', () => (sock.destroy(), resolve({ ok: true })));
      sock.on('timeout', () => (sock.destroy(), resolve({ ok: false, message: `dial tcp ${podIP}:${port}: i/o timeout` })));
      sock.on('error', (e) => resolve({ ok: false, message: `dial tcp ${podIP}:${port}: ${e.message}` }));
    });
  }
  if (probe.exec) {
    if (!pid) return { ok: false, message: 'container is not running' };
    const r = await execa('nsenter', [...enterArgs(pid), '--', ...probe.exec.command], { reject: false, timeout: timeoutMs });
    return r.exitCode === 0 ? { ok: true } : { ok: false, message: `exec probe exited ${r.exitCode}: ${String(r.stderr || r.stdout).trim().slice(0, 200)}` };
  }
  return { ok: false, message: 'probe has no handler (httpGet, tcpSocket or exec)' };
}

/** Tracks one probe's consecutive results against its thresholds. */
export class ProbeState {
  successes = 0;
  failures = 0;
  lastRun = 0;
  passing: boolean;
  lastMessage?: string;

  constructor(
    readonly probe: Probe,
    initial: boolean,
  ) {
    this.passing = initial;
  }

  due(now: number, startedAt: number): boolean {
    if (now - startedAt < (this.probe.initialDelaySeconds ?? 0) * 1000) return false;
    return now - this.lastRun >= (this.probe.periodSeconds ?? 10) * 1000;
  }

  record(result: ProbeResult, now: number): void {
    this.lastRun = now;
    if (result.ok) {
      this.successes++;
      this.failures = 0;
      if (this.successes >= (this.probe.successThreshold ?? 1)) this.passing = true;
    } else {
      this.failures++;
      this.successes = 0;
      this.lastMessage = result.message;
      if (this.failures >= (this.probe.failureThreshold ?? 3)) this.passing = false;
    }
  }
}
