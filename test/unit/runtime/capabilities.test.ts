import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import {
  CAP_LAST_CAP,
  capabilitiesFromMask,
  capabilityMask,
  DOCKER_DEFAULT_CAPABILITIES,
  effectiveCapabilities,
  LINUX_CAPABILITIES,
  normalizeCapability,
  type CapabilitySecurityContext,
} from '../../../src/runtime/spec/capabilities.ts';
import { SpecError } from '../../../src/runtime/spec/errors.ts';

const HEADER = '/usr/include/linux/capability.h';

test('the numbers match linux/capability.h', (t) => {
  // Well-known anchors, checked everywhere.
  const bit = (name: string) => LINUX_CAPABILITIES.find((c) => c.name === name)?.bit;
  t.is(bit('CAP_CHOWN'), 0);
  t.is(bit('CAP_NET_BIND_SERVICE'), 10);
  t.is(bit('CAP_NET_ADMIN'), 12);
  t.is(bit('CAP_SYS_ADMIN'), 21);
  t.is(bit('CAP_SETFCAP'), 31);
  t.is(bit('CAP_CHECKPOINT_RESTORE'), 40);
  t.is(CAP_LAST_CAP, 40);
  t.is(LINUX_CAPABILITIES.length, 41);
  // And the whole table against the kernel header, where the machine has it.
  if (!existsSync(HEADER)) return t.log(`${HEADER} not installed: compared the anchors only`);
  const defined = new Map<string, number>();
  for (const m of readFileSync(HEADER, 'utf8').matchAll(/^#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$/gm)) defined.set(m[1]!, Number(m[2]));
  for (const c of LINUX_CAPABILITIES) t.is(defined.get(c.name), c.bit, c.name);
});

test("Docker's default set is moby's fourteen, in order", (t) => {
  t.deepEqual(DOCKER_DEFAULT_CAPABILITIES, [
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
  ]);
});

test('masks are what /proc/PID/status shows', (t) => {
  // A default `docker run` shows CapEff 00000000a80425fb; a privileged one on a kernel with 41
  // capabilities shows 000001ffffffffff.
  t.is(capabilityMask(DOCKER_DEFAULT_CAPABILITIES), 0xa80425fbn);
  t.is(capabilityMask(effectiveCapabilities(undefined)), 0xa80425fbn);
  t.is(capabilityMask(effectiveCapabilities({ privileged: true })), 0x1ffffffffffn);
  t.is(capabilityMask([]), 0n);
  t.is(capabilityMask(['net_admin', 'CAP_SYS_ADMIN']), (1n << 12n) | (1n << 21n));
  t.deepEqual(capabilitiesFromMask(0xa80425fbn), [
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_FOWNER',
    'CAP_FSETID',
    'CAP_KILL',
    'CAP_SETGID',
    'CAP_SETUID',
    'CAP_SETPCAP',
    'CAP_NET_BIND_SERVICE',
    'CAP_NET_RAW',
    'CAP_SYS_CHROOT',
    'CAP_MKNOD',
    'CAP_AUDIT_WRITE',
    'CAP_SETFCAP',
  ]);
  t.deepEqual(capabilitiesFromMask(1n << 63n), []); // bits past the table are ignored
  t.throws(() => capabilityMask(['CAP_FLY']), { instanceOf: SpecError });
});

test('names with or without CAP_, in any case', (t) => {
  for (const n of ['NET_ADMIN', 'net_admin', 'CAP_NET_ADMIN', 'cap_net_admin', 'Net_Admin']) t.is(normalizeCapability(n), 'CAP_NET_ADMIN');
  t.is(normalizeCapability('FLY'), undefined);
  t.is(normalizeCapability('CAP_CAP_CHOWN'), undefined);
  t.is(normalizeCapability('ALL'), undefined); // ALL is a keyword of add/drop, not a capability
});

const DEFAULTS = [...DOCKER_DEFAULT_CAPABILITIES];
const ALL = LINUX_CAPABILITIES.map((c) => c.name);
const without = (list: readonly string[], ...names: string[]) => list.filter((n) => !names.includes(n));
const byBit = (names: string[]) => capabilitiesFromMask(capabilityMask(names));

const CASES: [string, CapabilitySecurityContext | undefined, string[]][] = [
  ['no securityContext: the defaults', undefined, byBit(DEFAULTS)],
  ['add NET_ADMIN', { capabilities: { add: ['NET_ADMIN'] } }, byBit([...DEFAULTS, 'CAP_NET_ADMIN'])],
  ['drop NET_RAW', { capabilities: { drop: ['NET_RAW'] } }, byBit(without(DEFAULTS, 'CAP_NET_RAW'))],
  ['drop ALL, add NET_BIND_SERVICE (the hardening idiom)', { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } }, ['CAP_NET_BIND_SERVICE']],
  ['drop all (lower case)', { capabilities: { drop: ['all'] } }, []],
  ['add ALL, drop CHOWN', { capabilities: { add: ['ALL'], drop: ['CHOWN'] } }, without(ALL, 'CAP_CHOWN')],
  ['add ALL and drop ALL: drop ALL comes second', { capabilities: { add: ['ALL'], drop: ['ALL'] } }, []],
  ['add and drop the same name: drops come last', { capabilities: { add: ['SYS_TIME'], drop: ['SYS_TIME'] } }, byBit(DEFAULTS)],
  ['drop ALL and add ALL plus one: nothing but the one', { capabilities: { add: ['ALL', 'BPF'], drop: ['ALL'] } }, ['CAP_BPF']],
  ['privileged: everything, add/drop ignored', { privileged: true, capabilities: { drop: ['ALL'] } }, ALL],
  ['privileged: false changes nothing', { privileged: false }, byBit(DEFAULTS)],
  ['names with the CAP_ prefix', { capabilities: { add: ['CAP_SYS_PTRACE'], drop: ['cap_kill'] } }, byBit([...without(DEFAULTS, 'CAP_KILL'), 'CAP_SYS_PTRACE'])],
];

for (const [name, sc, expected] of CASES) {
  test(`capabilities: ${name}`, (t) => t.deepEqual(effectiveCapabilities(sc), expected));
}

test('unknown names are errors naming each field', (t) => {
  const err = t.throws(
    () =>
      effectiveCapabilities(
        { capabilities: { add: ['NET_ADMIN', 'CAP_FLY'], drop: ['TELEPORT'] } },
        'spec.containers[0].securityContext',
      ),
    { instanceOf: SpecError },
  );
  t.is(
    err!.message,
    'spec.containers[0].securityContext.capabilities.add[1]: unknown capability "CAP_FLY"\n' +
      'spec.containers[0].securityContext.capabilities.drop[0]: unknown capability "TELEPORT"',
  );
});

test('a custom default set can stand in for Docker\'s', (t) => {
  t.deepEqual(effectiveCapabilities({ capabilities: { add: ['KILL'] } }, 'sc', ['CHOWN']), ['CAP_CHOWN', 'CAP_KILL']);
});
