// The lab's "internet" resolver, run on the external host (203.0.113.100:53): authoritative for a few
// example names, so pods resolve names outside the cluster with no real internet. Everything else is
// NXDOMAIN.
import dnsPacket from 'dns-packet';
import { listenDns, RCODE } from './server.ts';

export const EXAMPLE_ZONE: Record<string, string> = {
  'example.com': '203.0.113.100',
  'www.example.com': '203.0.113.100',
  'api.example.org': '203.0.113.100',
};

export function upstreamAnswer(query: dnsPacket.Packet): dnsPacket.Packet {
  const q = query.questions?.[0];
  const name = (q?.name ?? '').toLowerCase().replace(/\.$/, '');
  const ip = EXAMPLE_ZONE[name];
  const base = { id: query.id, type: 'response' as const, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: query.questions };
  if (!ip) return { ...base, flags: base.flags | RCODE.NXDOMAIN } as dnsPacket.Packet;
  return { ...base, answers: q?.type === 'A' ? [{ type: 'A', name, ttl: 300, class: 'IN', data: ip }] : [] } as dnsPacket.Packet;
}

export function startUpstream(where: { host: string; port: number }) {
  return listenDns(where, async (raw) => {
    try {
      return dnsPacket.encode(upstreamAnswer(dnsPacket.decode(raw)));
    } catch {
      return Buffer.alloc(0);
    }
  });
}
