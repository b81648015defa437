// The DNS server of the cluster add-on: UDP and TCP on port 53. A query for the cluster zone is
// answered from the view of the cluster (records.ts); any other name is forwarded to the upstream
// (the lab's "internet" resolver), SERVFAIL if it does not answer in time. A UDP answer larger than
// 512 bytes (or the client's EDNS size) is truncated with TC set, and the client retries over TCP.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { type Answer, type ClusterView, inZone, resolve, type RR } from './records.ts';

export type ViewSource = () => ClusterView;

/** dns-packet takes the response code only from the low 4 bits of the flags. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

function toPacketRR(r: RR): dnsPacket.Answer {
  return { type: r.type, name: r.name, ttl: r.ttl, class: 'IN', data: r.data } as dnsPacket.Answer;
}

/** Pure: the response message for one query message (cluster names only). */
export function answerQuery(query: dnsPacket.Packet, view: ClusterView): dnsPacket.Packet {
  const q = query.questions?.[0];
  const base = { id: query.id, type: 'response' as const, flags: dnsPacket.AUTHORITATIVE_ANSWER | (query.flags! & dnsPacket.RECURSION_DESIRED), questions: query.questions };
  if (!q) return { ...base, flags: base.flags | RCODE.FORMERR } as dnsPacket.Packet;
  const a: Answer = resolve(q.name, q.type, view);
  return {
    ...base,
    flags: base.flags | RCODE[a.rcode],
    answers: a.answers.map(toPacketRR),
    authorities: a.authorities.map(toPacketRR),
    additionals: a.additionals.map(toPacketRR),
  } as dnsPacket.Packet;
}

function servfail(query: dnsPacket.Packet): Buffer {
  return dnsPacket.encode({ id: query.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | RCODE.SERVFAIL, questions: query.questions } as dnsPacket.Packet);
}

/** Sends the raw query to the upstream and returns its raw answer (or SERVFAIL after the timeout). */
function forward(raw: Buffer, query: dnsPacket.Packet, upstream: { host: string; port: number }, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (b: Buffer) => {
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    const timer = setTimeout(() => done(servfail(query)), timeoutMs);
    sock.on('message', (m) => done(m));
    sock.on('error', () => done(servfail(query)));
    sock.send(raw, upstream.port, upstream.host);
  });
}

export interface DnsServerOptions {
  host: string;
  port: number;
  view: ViewSource;
  upstream?: { host: string; port: number };
  log?: (line: string) => void;
}

export async function handle(raw: Buffer, opts: DnsServerOptions, maxSize: number | undefined): Promise<Buffer> {
  let query: dnsPacket.Packet;
  try {
    query = dnsPacket.decode(raw);
  } catch {
    return Buffer.alloc(0);
  }
  const q = query.questions?.[0];
  if (q && !inZone(q.name)) {
    if (!opts.upstream) return dnsPacket.encode({ id: query.id, type: 'response', flags: RCODE.REFUSED, questions: query.questions } as dnsPacket.Packet);
    return forward(raw, query, opts.upstream);
  }
  const response = answerQuery(query, opts.view());
  let out = dnsPacket.encode(response);
  if (maxSize !== undefined && out.length > maxSize) {
    out = dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: [] });
  }
  opts.log?.(`${q?.type} ${q?.name} -> ${(response.flags ?? 0) & 0xf} ${response.answers?.length ?? 0}`);
  return out;
}

/** The UDP limit: the client's EDNS payload size when it sent one, else 512 (RFC 1035). */
function udpLimit(raw: Buffer): number {
  try {
    const opt = dnsPacket.decode(raw).additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    return Math.max(512, opt?.udpPayloadSize ?? 512);
  } catch {
    return 512;
  }
}

/** A UDP+TCP listener; `answer` turns one query message into one response (maxSize: the UDP limit). */
export async function listenDns(
  where: { host: string; port: number },
  answer: (raw: Buffer, maxSize: number | undefined) => Promise<Buffer>,
): Promise<{ close: () => Promise<void>; port: number }> {
  const opts = where;
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    void answer(msg, udpLimit(msg)).then((out) => out.length && udp.send(out, rinfo.port, rinfo.address));
  });
  await new Promise<void>((r) => udp.bind(opts.port, opts.host, () => r()));
  const port = udp.address().port;
  const tcp = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void answer(msg, undefined).then((out) => {
          const head = Buffer.alloc(2);
          head.writeUInt16BE(out.length);
          sock.write(Buffer.concat([head, out]));
        });
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => tcp.listen(port, opts.host, () => r()));
  return {
    port,
    close: async () => {
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

export function startDnsServer(opts: DnsServerOptions): Promise<{ close: () => Promise<void>; port: number }> {
  return listenDns(opts, (raw, max) => handle(raw, opts, max));
}
