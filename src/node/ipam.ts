// host-local IPAM, as the CNI plugin does it: one file per allocated address under the node's state
// directory, named by the address and holding the owner, plus the last address handed out so that a
// freed address is not reused at once. It survives daemon restarts, so a pod keeps its address.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { intToIp, ipToInt, maskBits } from '../controllers/podcidr.ts';

/** Pure choice of the next free address after `last`, wrapping around; skips network, gateway, broadcast. */
export function nextFreeAddress(subnet: string, used: Set<string>, last?: string): string | undefined {
  const [base, bits] = subnet.split('/');
  const prefix = Number(bits);
  const net = ipToInt(base!) & maskBits(prefix);
  const size = 2 ** (32 - prefix);
  const first = net + 2; // .0 is the network, .1 the gateway on cni0
  const lastUsable = net + size - 2; // the top address is the broadcast
  const count = lastUsable - first + 1;
  const lastInt = last ? ipToInt(last) : first - 1;
  const start = lastInt >= first && lastInt <= lastUsable ? lastInt - first + 1 : 0;
  for (let i = 0; i < count; i++) {
    const candidate = intToIp(first + ((start + i) % count));
    if (!used.has(candidate)) return candidate;
  }
  return undefined;
}

export function gatewayOf(subnet: string): string {
  const [base, bits] = subnet.split('/');
  return intToIp((ipToInt(base!) & maskBits(Number(bits))) + 1);
}

export class HostLocalIpam {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private entries(): Map<string, string> {
    const map = new Map<string, string>();
    for (const f of readdirSync(this.dir)) {
      if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) map.set(f, readFileSync(path.join(this.dir, f), 'utf8').trim());
    }
    return map;
  }

  /** The address held by an owner, if any. */
  addressOf(owner: string): string | undefined {
    for (const [ip, o] of this.entries()) if (o === owner) return ip;
    return undefined;
  }

  allocate(subnet: string, owner: string): string {
    const held = this.addressOf(owner);
    if (held) return held;
    const lastFile = path.join(this.dir, 'last_reserved_ip');
    const last = existsSync(lastFile) ? readFileSync(lastFile, 'utf8').trim() : undefined;
    const ip = nextFreeAddress(subnet, new Set(this.entries().keys()), last);
    if (!ip) throw new Error(`no free address left in ${subnet}`);
    writeFileSync(path.join(this.dir, ip), owner, { flag: 'wx' });
    writeFileSync(lastFile, ip);
    return ip;
  }

  release(owner: string): void {
    for (const [ip, o] of this.entries()) if (o === owner) rmSync(path.join(this.dir, ip), { force: true });
  }

  allocations(): Map<string, string> {
    return this.entries();
  }
}
