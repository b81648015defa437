// Linux capabilities of a container's process: the kernel's numbered list (linux/capability.h, up to
// CAP_CHECKPOINT_RESTORE = 40), Docker's default set (moby oci/caps/defaults.go, also containerd's
// default spec), and securityContext.capabilities applied in containerd's CRI order:
//
//   1. add contains "ALL"   → start from every capability
//   2. drop contains "ALL"  → start from none            (so drop ALL beats add ALL)
//   3. each other add       → added
//   4. each other drop      → removed                    (so a name in both add and drop is dropped)
//
// (Docker's own `--cap-add/--cap-drop` differ: there add ALL beats drop ALL and add beats drop.)
// privileged: true gives every capability and ignores add/drop, as containerd does.
// Names are matched case-insensitively, with or without the CAP_ prefix (Kubernetes documents them
// without it; CRI-O accepts both). An unknown name is an error naming its field.
import { fieldPath, SpecError, type FieldProblem } from './errors.ts';

/** Capability names indexed by their bit number. */
const NAMES = [
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL', // 5
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE', // 40
] as const;

export type CapabilityName = (typeof NAMES)[number];

export interface Capability {
  name: CapabilityName;
  bit: number;
}

/** Every capability this table knows, in bit order. */
export const LINUX_CAPABILITIES: readonly Capability[] = NAMES.map((name, bit) => ({ name, bit }));
export const CAP_LAST_CAP = NAMES.length - 1;

const BY_NAME = new Map<string, Capability>(LINUX_CAPABILITIES.map((c) => [c.name, c]));

/** Docker's default set, in moby's order. */
export const DOCKER_DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; undefined when unknown. */
export function normalizeCapability(name: string): CapabilityName | undefined {
  if (typeof name !== 'string') return undefined;
  const upper = name.trim().toUpperCase();
  return BY_NAME.get(upper.startsWith('CAP_') ? upper : `CAP_${upper}`)?.name;
}

export interface CapabilitiesSpec {
  add?: readonly string[];
  drop?: readonly string[];
}

export interface CapabilitySecurityContext {
  privileged?: boolean;
  capabilities?: CapabilitiesSpec;
}

const isAll = (s: unknown) => typeof s === 'string' && s.trim().toUpperCase() === 'ALL';

/**
 * The capability set of a container's process, in bit order. `path` is the container's
 * securityContext path (`spec.containers[0].securityContext`); unknown names are reported there.
 */
export function effectiveCapabilities(
  securityContext: CapabilitySecurityContext | undefined,
  path = 'spec.containers[0].securityContext',
  defaults: readonly string[] = DOCKER_DEFAULT_CAPABILITIES,
): CapabilityName[] {
  if (securityContext?.privileged) return LINUX_CAPABILITIES.map((c) => c.name);
  const caps = securityContext?.capabilities;
  const problems: FieldProblem[] = [];
  const resolve = (field: 'add' | 'drop'): { all: boolean; names: CapabilityName[] } => {
    const list = caps?.[field] ?? [];
    const listPath = fieldPath(fieldPath(path, 'capabilities'), field);
    if (!Array.isArray(list)) {
      problems.push({ path: listPath, message: 'expected a list of capability names' });
      return { all: false, names: [] };
    }
    const names: CapabilityName[] = [];
    let all = false;
    list.forEach((raw, i) => {
      if (isAll(raw)) return void (all = true);
      const name = normalizeCapability(raw);
      if (name) names.push(name);
      else problems.push({ path: fieldPath(listPath, i), message: `unknown capability ${JSON.stringify(raw)}` });
    });
    return { all, names };
  };
  const add = resolve('add');
  const drop = resolve('drop');
  const base = defaults.map((d, i) => normalizeCapability(d) ?? fail(`defaults[${i}]`, d));
  if (problems.length) throw new SpecError(problems);

  let set = new Set<CapabilityName>(base);
  if (add.all) set = new Set(LINUX_CAPABILITIES.map((c) => c.name));
  if (drop.all) set = new Set();
  for (const n of add.names) set.add(n);
  for (const n of drop.names) set.delete(n);
  return sortByBit([...set]);
}

function fail(path: string, name: string): never {
  throw new SpecError({ path, message: `unknown capability ${JSON.stringify(name)}` });
}

const sortByBit = (names: CapabilityName[]) => names.sort((a, b) => BY_NAME.get(a)!.bit - BY_NAME.get(b)!.bit);

/** The 64-bit mask (as /proc/PID/status CapEff prints it, and capset(2) takes it) of a set of names. */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  names.forEach((n, i) => {
    const cap = normalizeCapability(n);
    if (!cap) fail(`[${i}]`, n);
    mask |= 1n << BigInt(BY_NAME.get(cap)!.bit);
  });
  return mask;
}

/** The names in a mask (e.g. parsed from /proc/PID/status CapEff); unknown bits are ignored. */
export function capabilitiesFromMask(mask: bigint): CapabilityName[] {
  return LINUX_CAPABILITIES.filter((c) => (mask >> BigInt(c.bit)) & 1n).map((c) => c.name);
}
