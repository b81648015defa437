// cgroup v2, proven in a qemu guest that boots Debian's kernel (our machines have only v1 controllers):
// the very kubelab-init binary the nodes use, with the command line src/runtime builds for a v2 host,
// makes the container's cgroup in the unified hierarchy, writes cpu.max, cpu.weight and memory.max,
// joins it and runs the command. A busy loop is throttled (cpu.stat), an allocation past the limit is
// OOM-killed (memory.events) and the shim reports 137, as the node daemon expects.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { detectCgroups, planCgroup, type CgroupLayout } from '../../../src/runtime/cgroups.ts';
import { initArgv, initBinary } from '../../../src/runtime/launch.ts';
import { cgroupSettings } from '../../../src/runtime/spec/resources.ts';
import { guestAvailable, runInGuest } from '../../../src/vm/guest.ts';
import { isRoot } from '../helpers.ts';

const V2: CgroupLayout = { version: 2, root: '/sys/fs/cgroup' };
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function launch(rel: string, limits: Record<string, string>, command: string): string {
  const plan = planCgroup(V2, rel, cgroupSettings({ requests: limits, limits }));
  return initArgv({ cgroups: plan.join, cgroupSets: plan.writes, argv: ['sh', '-c', command] }, '/kubelab-init').map(q).join(' ');
}

test('detection: a unified hierarchy with the cpu and memory controllers is v2, without them v1', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kubelab-cg-'));
  try {
    writeFileSync(path.join(dir, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    t.is(detectCgroups(dir).version, 2);
    writeFileSync(path.join(dir, 'cgroup.controllers'), '\n');
    t.is(detectCgroups(dir).version, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cgroup v2 in a guest running Debian\'s kernel: cpu.max throttles, memory.max OOM-kills', async (t) => {
  const can = guestAvailable();
  if (!isRoot() || !can.ok) {
    if (process.env.CI === 'true') return void t.fail(`needs root and qemu in CI: ${can.why ?? 'not root'}`);
    t.log(`skipped: ${can.why ?? 'needs root'}`);
    return void t.pass();
  }
  const init = readFileSync(initBinary()).toString('base64');
  const cpuRel = 'kubelab/guest/guaranteed/podcpu/main';
  const memRel = 'kubelab/guest/guaranteed/podmem/main';
  const script = `
set -e
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
echo "CONTROLLERS: $(cat /sys/fs/cgroup/cgroup.controllers)"
base64 -d > /kubelab-init <<'KUBELAB_EOF'
${init}
KUBELAB_EOF
chmod +x /kubelab-init
set +e
# A busy loop for 3 s under a 100m limit.
${launch(cpuRel, { cpu: '100m', memory: '64Mi' }, 'end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do :; done')}
echo "CPU EXIT: $?"
echo "CPU.MAX: $(cat /sys/fs/cgroup/${cpuRel}/cpu.max)"
echo "CPU.WEIGHT: $(cat /sys/fs/cgroup/${cpuRel}/cpu.weight)"
cat /sys/fs/cgroup/${cpuRel}/cpu.stat | sed 's/^/CPU.STAT /'
# Doubling a shell variable past 32Mi.
${launch(memRel, { cpu: '500m', memory: '32Mi' }, 'x=0123456789abcdef; while true; do x="$x$x"; done')}
echo "MEM EXIT: $?"
echo "MEMORY.MAX: $(cat /sys/fs/cgroup/${memRel}/memory.max)"
cat /sys/fs/cgroup/${memRel}/memory.events | sed 's/^/MEMORY.EVENTS /'
`;
  const r = await runInGuest(script, { timeoutMs: 240_000 });
  t.log(`guest booted and ran in ${r.seconds.toFixed(1)} s`);
  t.is(r.exitCode, 0, r.console.slice(-3000));
  const controllers = /CONTROLLERS: (.*)/.exec(r.output)?.[1] ?? '';
  t.regex(controllers, /\bcpu\b/);
  t.regex(controllers, /\bmemory\b/);
  t.regex(r.output, /CPU EXIT: 0/);
  t.regex(r.output, /CPU\.MAX: 10000 100000/);
  // cpu.weight from 102 shares (100m): 1 + (102 - 2) * 9999 / 262142, as the kubelet converts.
  t.regex(r.output, /CPU\.WEIGHT: 4\b/);
  const throttled = Number(/CPU\.STAT nr_throttled (\d+)/.exec(r.output)?.[1] ?? 0);
  const periods = Number(/CPU\.STAT nr_periods (\d+)/.exec(r.output)?.[1] ?? 0);
  t.log(`throttled in ${throttled} of ${periods} periods`);
  t.true(throttled >= 5 && throttled <= periods, `throttled ${throttled} of ${periods} periods`);
  t.regex(r.output, /MEM EXIT: 137/);
  t.regex(r.output, new RegExp(`MEMORY\\.MAX: ${32 * 1024 * 1024}`));
  t.regex(r.output, /MEMORY\.EVENTS oom_kill [1-9]/);
});
