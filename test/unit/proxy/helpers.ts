// Test helpers: independent readers of the generated text (an iptables-restore interpreter with
// --noflush semantics and an interpreter for the nft subset we emit), an independent base32, and
// input builders. They share no code with src/proxy on purpose.
import { createHash } from 'node:crypto';
import type { ProxyInput, Service, Endpoint } from '../../../src/proxy/types.ts';

/** RFC 4648 base32 written differently from the code under test: through a bit string. */
export function base32Reference(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  while (bits.length % 5 !== 0) bits += '0';
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

export function sha256(text: string): Uint8Array {
  return createHash('sha256').update(text).digest();
}

/** Split a restore line into words, honouring double quotes as iptables-restore does. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2]!);
  return out;
}

export type Tables = Map<string, Map<string, string[][]>>;

/** Apply an iptables-restore payload to `tables` with --noflush semantics; returns `tables`. */
export function applyRestore(payload: string, tables: Tables = new Map()): Tables {
  let table: Map<string, string[][]> | undefined;
  payload.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('*')) {
      const name = line.slice(1);
      if (!tables.has(name)) tables.set(name, new Map());
      table = tables.get(name);
      return;
    }
    if (!table) throw new Error(`${where}: outside a table`);
    if (line === 'COMMIT') {
      table = undefined;
      return;
    }
    if (line.startsWith(':')) {
      // A chain line creates the chain, or flushes it if it exists.
      table.set(line.slice(1).split(' ')[0]!, []);
      return;
    }
    const w = words(line);
    if (w[0] === '-A') {
      const rules = table.get(w[1]!);
      if (!rules) throw new Error(`${where}: chain ${w[1]} does not exist`);
      const j = w.indexOf('-j');
      if (j >= 0 && w[j + 1]!.startsWith('KUBE-') && !table.has(w[j + 1]!)) throw new Error(`${where}: target ${w[j + 1]} does not exist`);
      rules.push(w.slice(2));
      return;
    }
    if (w[0] === '-X') {
      if (!table.has(w[1]!)) throw new Error(`${where}: cannot delete missing chain`);
      table.delete(w[1]!);
      return;
    }
    throw new Error(`${where}: unexpected`);
  });
  return tables;
}

/** The value after `flag` in a rule, if any. */
export function opt(rule: string[], flag: string): string | undefined {
  const i = rule.indexOf(flag);
  return i >= 0 ? rule[i + 1] : undefined;
}

export function target(rule: string[]): string | undefined {
  return opt(rule, '-j');
}

/**
 * Where a new connection to a service may end up, following a nat chain as the kernel would for a
 * packet that matches every non-statistic condition: each endpoint's DNAT target with its probability.
 * Rules with match conditions other than the statistic (masquerade marks, affinity checks) are
 * treated as non-terminating or skipped, as a first packet without affinity history sees them.
 */
export function dnatDistribution(nat: Map<string, string[][]>, chain: string, p = 1, out = new Map<string, number>()): Map<string, number> {
  let remaining = p;
  for (const rule of nat.get(chain) ?? []) {
    const t = target(rule);
    if (t === 'KUBE-MARK-MASQ' || t === 'MARK' || t === undefined) continue;
    if (rule.includes('--rcheck')) continue; // no affinity history for a first connection
    if (t === 'DNAT') {
      const dest = opt(rule, '--to-destination')!;
      out.set(dest, (out.get(dest) ?? 0) + remaining);
      return out;
    }
    const prob = rule.includes('statistic') ? Number(opt(rule, '--probability')) : 1;
    dnatDistribution(nat, t, remaining * prob, out);
    remaining *= 1 - prob;
    if (remaining === 0) break;
  }
  return out;
}

/** Minimal interpreter for the nft statements the generator emits, for table `ip kube-proxy`. */
export interface NftTable {
  chains: Map<string, string[]>;
  sets: Map<string, Map<string, string>>;
}

export function applyNft(script: string, t: NftTable = { chains: new Map(), sets: new Map() }): NftTable {
  const prefix = /^(add|flush|delete) (table|chain|rule|set|map|element) ip kube-proxy ?(.*)$/;
  script.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const m = prefix.exec(line);
    if (!m) throw new Error(`line ${i + 1}: unexpected statement: ${line}`);
    const [, verb, kind, rest] = m as unknown as [string, string, string, string];
    const name = rest.split(' ')[0]!;
    const where = `line ${i + 1}: ${line}`;
    if (kind === 'table') {
      if (verb === 'delete') (t.chains.clear(), t.sets.clear());
      return;
    }
    if (kind === 'chain') {
      if (verb === 'add' && !t.chains.has(name)) t.chains.set(name, []);
      else if (verb === 'flush') {
        if (!t.chains.has(name)) throw new Error(`${where}: no such chain`);
        t.chains.set(name, []);
      } else if (verb === 'delete') {
        if (!t.chains.has(name)) throw new Error(`${where}: no such chain`);
        t.chains.delete(name);
      }
      return;
    }
    if (kind === 'rule') {
      const chain = t.chains.get(name);
      if (!chain) throw new Error(`${where}: no such chain`);
      const body = rest.slice(name.length + 1);
      for (const ref of body.matchAll(/(?:goto|jump) ([^\s,}]+)/g)) {
        if (!t.chains.has(ref[1]!)) throw new Error(`${where}: jump to missing chain ${ref[1]}`);
      }
      for (const ref of body.matchAll(/@([^\s,}]+)/g)) {
        if (!t.sets.has(ref[1]!)) throw new Error(`${where}: missing set ${ref[1]}`);
      }
      chain.push(body);
      return;
    }
    if (kind === 'set' || kind === 'map') {
      if (verb === 'add' && !t.sets.has(name)) t.sets.set(name, new Map());
      else if (verb === 'flush') t.sets.get(name)!.clear();
      else if (verb === 'delete') {
        if (!t.sets.has(name)) throw new Error(`${where}: no such ${kind}`);
        t.sets.delete(name);
      }
      return;
    }
    // element
    const set = t.sets.get(name);
    if (!set) throw new Error(`${where}: no such set`);
    const inner = /\{ (.*) \}$/.exec(rest)![1]!;
    const [keyPart, value = ''] = inner.split(' : ');
    const key = keyPart!.replace(/ comment ".*"$/, '');
    if (verb === 'add') {
      if (set.has(key)) throw new Error(`${where}: element exists`);
      const target = /goto (\S+)/.exec(value)?.[1];
      if (target && !t.chains.has(target)) throw new Error(`${where}: verdict to missing chain ${target}`);
      set.set(key, value);
    } else {
      if (!set.has(key)) throw new Error(`${where}: no such element`);
      set.delete(key);
    }
  });
  return t;
}

/** A comparable view of an nft table: empty chains (flushed, awaiting deletion) left out. */
export function nftView(t: NftTable): unknown {
  return {
    chains: Object.fromEntries([...t.chains].filter(([, r]) => r.length > 0).sort(([a], [b]) => (a < b ? -1 : 1))),
    sets: Object.fromEntries([...t.sets].map(([k, v]) => [k, Object.fromEntries([...v].sort(([a], [b]) => (a < b ? -1 : 1)))]).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

export const node = {
  name: 'node1',
  ips: ['192.168.56.11'],
  clusterCIDR: '10.244.0.0/16',
  serviceCIDRs: ['10.96.0.0/12'],
  masqueradeMark: '0x4000',
};

export function svc(name: string, clusterIP: string, extra: Partial<Service> = {}): Service {
  return {
    namespace: 'default',
    name,
    type: 'ClusterIP',
    clusterIP,
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    ...extra,
  };
}

/** n ready endpoints 10.244.<node>.<i>:8080; `localCount` of them on node1 (subnet 1), the rest on node2. */
export function eps(n: number, localCount = 0, base = 10): Endpoint[] {
  return Array.from({ length: n }, (_, i) => {
    const local = i < localCount;
    return { ip: `10.244.${local ? 1 : 2}.${base + i}`, port: 8080, ready: true, nodeName: local ? 'node1' : 'node2' };
  });
}

export function input(services: Service[], endpoints: Record<string, Endpoint[]>): ProxyInput {
  return { services, endpoints, node };
}
