// Benchmark of the service proxy generators: node --import tsx bench/proxy-sync.ts [sizes...]
// For 1,000 and 10,000 services (3 endpoints each) and both modes it times generating the full
// ruleset, loading it into a throwaway network namespace (kltest-<hex>; the host's namespace is never
// touched), then generating and loading a one-service partial sync. The baseline is the bare
// `iptables-restore` / `nft -f` of the same pre-generated text into another fresh namespace, so the
// ratios show what generation adds on top of what the kernel tools cost anyway. Needs root.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { iptablesSync } from '../src/proxy/iptables.ts';
import { nftablesSync } from '../src/proxy/nftables.ts';
import type { Endpoint, ProxyInput, ProxyOptions, Service } from '../src/proxy/types.ts';

const baseOptions: ProxyOptions = { cluster: 'bench' };
const namespaces = new Set<string>();
const workDir = mkdtempSync(path.join(tmpdir(), 'kltest-bench-'));

/** The system's nft, not node_modules/.bin/nft (an unrelated npm tool) that npx puts first on PATH. */
function systemBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && !dir.includes('node_modules') && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return name;
}
const NFT = systemBinary('nft');

function world(n: number, variant = 0): ProxyInput {
  const services: Service[] = [];
  const endpoints: Record<string, Endpoint[]> = {};
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push({
      namespace: 'bench',
      name,
      type: i % 10 === 0 ? 'NodePort' : 'ClusterIP',
      clusterIP: `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: i % 10 === 0 ? 30000 + (i / 10) : undefined }],
    });
    // Service 0 is the one the partial sync changes: its third endpoint moves.
    endpoints[`bench/${name}:http`] = [0, 1, 2].map((k) => ({
      ip: `10.244.${(i * 3 + k) % 200}.${Math.floor((i * 3 + k) / 200) % 250 + 2}`,
      port: 8080,
      ready: true,
      nodeName: `node${k}`,
      ...(i === 0 && k === 2 && variant ? { ip: '10.244.250.250' } : {}),
    }));
  }
  return { services, endpoints, node: { name: 'node1', ips: ['192.168.56.11'], clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'], masqueradeMark: '0x4000' } };
}

async function freshNetns(): Promise<string> {
  const name = `kltest-${randomBytes(3).toString('hex')}`;
  await execa('ip', ['netns', 'add', name]);
  namespaces.add(name);
  return name;
}

async function dropNetns(name: string): Promise<void> {
  await execa('ip', ['netns', 'del', name], { reject: false });
  namespaces.delete(name);
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

async function restore(ns: string, payload: string): Promise<void> {
  await execa('ip', ['netns', 'exec', ns, 'iptables-legacy-restore', '-w', '--noflush'], { input: payload }); // kubelab's backend: src/driver/iptables.ts
}

let fileCounter = 0;
async function nftLoad(ns: string, script: string): Promise<void> {
  // Writing the file is timed too: the driver has to write it as well.
  const file = path.join(workDir, `s${fileCounter++}.nft`);
  writeFileSync(file, script);
  await execa('ip', ['netns', 'exec', ns, NFT, '-f', file]);
  rmSync(file);
}

interface Row {
  mode: string;
  services: number;
  genFull: number;
  loadFull: number;
  bareFull: number;
  genPartial: number;
  loadPartial: number;
  barePartial: number;
  bytesFull: number;
  bytesPartial: number;
}

type Mode = 'iptables' | 'nftables' | 'nftables-vmap';

async function benchMode(mode: Mode, n: number): Promise<Row> {
  const before = world(n);
  const after = world(n, 1);
  const load = mode === 'iptables' ? restore : nftLoad;
  // nftables-vmap: kube-proxy's own endpoint choice (an anonymous vmap per service), for comparison.
  const options: ProxyOptions = { ...baseOptions, nftEndpointSelection: mode === 'nftables-vmap' ? 'vmap' : 'cascade' };

  const ns = await freshNetns();
  const bare = await freshNetns();
  try {
    const [full, genFull] = await timed(() => (mode === 'iptables' ? iptablesSync(before, options) : nftablesSync(before, options)));
    const fullText = 'payload' in full ? full.payload : full.script;
    const [, loadFull] = await timed(() => load(ns, fullText));
    const [, bareFull] = await timed(() => load(bare, fullText));

    const [partial, genPartial] = await timed(() =>
      mode === 'iptables' ? iptablesSync(after, options, full.state as never) : nftablesSync(after, options, full.state as never),
    );
    const partialText = 'payload' in partial ? partial.payload : partial.script;
    if (partial.changedServices.join() !== 'bench/svc-0') throw new Error(`expected one changed service, got ${partial.changedServices.length}`);
    const [, loadPartial] = await timed(() => load(ns, partialText));
    // Baseline: the same pre-generated partial text, loaded bare on top of the same full state.
    const [, barePartial] = await timed(() => load(bare, partialText));
    return { mode, services: n, genFull, loadFull, bareFull, genPartial, loadPartial, barePartial, bytesFull: fullText.length, bytesPartial: partialText.length };
  } finally {
    await dropNetns(ns);
    await dropNetns(bare);
  }
}

async function cleanup(): Promise<void> {
  for (const ns of [...namespaces]) await dropNetns(ns);
  rmSync(workDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench/proxy-sync.ts needs root: it loads rules into throwaway network namespaces');
    process.exit(2);
  }
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const rows: Row[] = [];
  for (const n of sizes.length ? sizes : [1000, 10000]) {
    for (const mode of ['iptables', 'nftables', 'nftables-vmap'] as const) {
      const row = await benchMode(mode, n);
      rows.push(row);
      console.error(`done: ${mode} ${n} services`);
    }
  }
  const f = (ms: number) => ms.toFixed(1).padStart(9);
  const r = (x: number) => `${x.toFixed(2)}x`.padStart(7);
  console.log('mode          services | full: gen ms  load ms  sync ms  bare ms  sync/bare  KiB | partial: gen ms  load ms  sync ms  bare ms  sync/bare  KiB | partial/full');
  for (const x of rows) {
    const syncFull = x.genFull + x.loadFull;
    const syncPartial = x.genPartial + x.loadPartial;
    console.log(
      `${x.mode.padEnd(13)} ${String(x.services).padStart(8)} | ${f(x.genFull)} ${f(x.loadFull)} ${f(syncFull)} ${f(x.bareFull)} ${r(syncFull / x.bareFull)} ${String(Math.round(x.bytesFull / 1024)).padStart(5)} |` +
        ` ${f(x.genPartial)} ${f(x.loadPartial)} ${f(syncPartial)} ${f(x.barePartial)} ${r(syncPartial / x.barePartial)} ${String(Math.round(x.bytesPartial / 1024)).padStart(5)} | ${r(syncPartial / syncFull)}`,
    );
  }
}

process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
