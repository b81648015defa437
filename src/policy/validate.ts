// NetworkPolicy validation as the API server does it, every problem with its field path:
// CIDRs, except within its cidr, port ranges, endPort (needs a numeric port, >= port), protocols,
// policyTypes, named port syntax, selector operators, and a peer that mixes ipBlock with selectors.
import ipaddr from 'ipaddr.js';
import type { FieldError } from '../api/schema.ts';
import { portName } from '../api/schema.ts';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

function cidr(v: unknown): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  if (typeof v !== 'string' || !v.includes('/')) return undefined;
  // As Go's net.ParseCIDR: an IPv4 address is four decimal parts ("10.0.0/8" is not a CIDR).
  const addr = v.slice(0, v.indexOf('/'));
  if (!addr.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addr)) return undefined;
  try {
    return ipaddr.parseCIDR(v);
  } catch {
    return undefined;
  }
}

function selector(sel: any, path: string, errors: FieldError[]): void {
  for (const [i, e] of (sel?.matchExpressions ?? []).entries()) {
    const p = `${path}.matchExpressions[${i}]`;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) errors.push({ path: `${p}.operator`, message: `unsupported value ${JSON.stringify(e.operator)}: supported values "In", "NotIn", "Exists", "DoesNotExist"` });
    if ((e.operator === 'In' || e.operator === 'NotIn') && !(e.values ?? []).length) errors.push({ path: `${p}.values`, message: 'Required value: must be specified when `operator` is \'In\' or \'NotIn\'' });
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && (e.values ?? []).length) errors.push({ path: `${p}.values`, message: 'Forbidden: may not be specified when `operator` is \'Exists\' or \'DoesNotExist\'' });
  }
}

export function validateNetworkPolicy(np: any): FieldError[] {
  const errors: FieldError[] = [];
  const spec = np?.spec;
  if (!spec) return [{ path: 'spec', message: 'Required value' }];
  if (spec.podSelector === undefined) errors.push({ path: 'spec.podSelector', message: 'Required value (use {} to select every pod of the namespace)' });
  else selector(spec.podSelector, 'spec.podSelector', errors);
  for (const [i, t] of (spec.policyTypes ?? []).entries()) {
    if (t !== 'Ingress' && t !== 'Egress') errors.push({ path: `spec.policyTypes[${i}]`, message: `unsupported value ${JSON.stringify(t)}: supported values "Ingress", "Egress"` });
  }
  for (const dir of ['ingress', 'egress'] as const) {
    for (const [ri, rule] of (spec[dir] ?? []).entries()) {
      const base = `spec.${dir}[${ri}]`;
      for (const [pi, port] of (rule.ports ?? []).entries()) {
        const p = `${base}.ports[${pi}]`;
        if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) errors.push({ path: `${p}.protocol`, message: `unsupported value ${JSON.stringify(port.protocol)}: supported values "TCP", "UDP", "SCTP"` });
        if (typeof port.port === 'number' && (port.port < 1 || port.port > 65535 || !Number.isInteger(port.port))) errors.push({ path: `${p}.port`, message: `Invalid value: ${port.port}: must be between 1 and 65535, inclusive` });
        if (typeof port.port === 'string') {
          const msg = portName(port.port);
          if (msg) errors.push({ path: `${p}.port`, message: `Invalid value: ${msg}` });
        }
        if (port.endPort !== undefined) {
          if (port.port === undefined) errors.push({ path: `${p}.endPort`, message: 'Forbidden: may not be specified when `port` is not specified' });
          else if (typeof port.port === 'string') errors.push({ path: `${p}.endPort`, message: 'Forbidden: may not be specified when `port` is non-numeric' });
          else if (port.endPort < port.port) errors.push({ path: `${p}.endPort`, message: `Invalid value: ${port.endPort}: must be greater than or equal to \`port\`` });
          if (port.endPort > 65535) errors.push({ path: `${p}.endPort`, message: `Invalid value: ${port.endPort}: must be between 1 and 65535, inclusive` });
        }
      }
      const peers = (dir === 'ingress' ? rule.from : rule.to) ?? [];
      for (const [i, peer] of peers.entries()) {
        const p = `${base}.${dir === 'ingress' ? 'from' : 'to'}[${i}]`;
        const set = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => peer?.[k] !== undefined);
        if (set.length === 0) errors.push({ path: p, message: 'Required value: must specify a peer' });
        if (peer?.ipBlock && set.length > 1) errors.push({ path: p, message: 'Forbidden: may not specify more than 1 peer type when ipBlock is set' });
        if (peer?.podSelector) selector(peer.podSelector, `${p}.podSelector`, errors);
        if (peer?.namespaceSelector) selector(peer.namespaceSelector, `${p}.namespaceSelector`, errors);
        if (peer?.ipBlock) {
          const c = cidr(peer.ipBlock.cidr);
          if (!c) errors.push({ path: `${p}.ipBlock.cidr`, message: `Invalid value: ${JSON.stringify(peer.ipBlock.cidr)}: must be a valid CIDR` });
          for (const [ei, ex] of (peer.ipBlock.except ?? []).entries()) {
            const e = cidr(ex);
            if (!e) errors.push({ path: `${p}.ipBlock.except[${ei}]`, message: `Invalid value: ${JSON.stringify(ex)}: must be a valid CIDR` });
            else if (c && (e[0].kind() !== c[0].kind() || e[1] < c[1] || !e[0].match(c[0], c[1]))) errors.push({ path: `${p}.ipBlock.except[${ei}]`, message: `Invalid value: ${JSON.stringify(ex)}: must be a strict subset of \`cidr\` ${peer.ipBlock.cidr}` });
          }
        }
      }
    }
  }
  return errors;
}
