// Text forms of link and network addresses, as tcpdump and Wireshark print them.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Colon-separated lower-case hex, e.g. "0a:58:0a:f4:01:02". */
export function formatMac(buf: Buffer, offset: number, length = 6): string {
  const parts: string[] = [];
  for (let i = 0; i < length; i++) parts.push(HEX[buf[offset + i]!]!);
  return parts.join(':');
}

export function formatIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function hex(n: number, width: number): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}
