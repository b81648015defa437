// The runtime's pure planning: cgroup plans on v1 and v2, kubelab-init's argv, credentials from
// passwd/group files.
import test from 'ava';
import { containerCgroupPath, planCgroup } from '../../../src/runtime/cgroups.ts';
import { initArgv } from '../../../src/runtime/launch.ts';
import { cgroupSettings } from '../../../src/runtime/spec/resources.ts';
import { resolveCredentials, UserError } from '../../../src/runtime/users.ts';

const settings = cgroupSettings({ requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } });

test('cgroup path follows the kubelet: <qos>/pod<uid>/<container>, under kubelab/<cluster>', (t) => {
  t.is(containerCgroupPath('lab', 'Burstable', 'u1', 'web'), 'kubelab/lab/burstable/podu1/web');
});

test('v1 plan: a directory per controller, cpu files under cpu, memory under memory, the process joins all four', (t) => {
  const p = planCgroup({ version: 1, root: '/sys/fs/cgroup' }, 'kubelab/lab/burstable/podu1/web', settings);
  t.deepEqual(p.join, ['cpu', 'cpuacct', 'memory', 'pids'].map((c) => `/sys/fs/cgroup/${c}/kubelab/lab/burstable/podu1/web`));
  const w = new Map(p.writes);
  // 500m: 50 ms of each 100 ms period; 250m: 256 shares (250 * 1024 / 1000); 128Mi in bytes.
  t.is(w.get('/sys/fs/cgroup/cpu/kubelab/lab/burstable/podu1/web/cpu.cfs_quota_us'), '50000');
  t.is(w.get('/sys/fs/cgroup/cpu/kubelab/lab/burstable/podu1/web/cpu.cfs_period_us'), '100000');
  t.is(w.get('/sys/fs/cgroup/cpu/kubelab/lab/burstable/podu1/web/cpu.shares'), '256');
  t.is(w.get('/sys/fs/cgroup/memory/kubelab/lab/burstable/podu1/web/memory.limit_in_bytes'), String(128 * 1024 * 1024));
});

test('v2 plan: controllers enabled in every ancestor before the leaf files, one directory joined', (t) => {
  const p = planCgroup({ version: 2, root: '/sys/fs/cgroup' }, 'kubelab/lab/burstable/podu1/web', settings);
  t.deepEqual(p.join, ['/sys/fs/cgroup/kubelab/lab/burstable/podu1/web']);
  const files = p.writes.map(([f]) => f);
  t.deepEqual(files.slice(0, 5), ['/sys/fs/cgroup/cgroup.subtree_control', ...['kubelab', 'kubelab/lab', 'kubelab/lab/burstable', 'kubelab/lab/burstable/podu1'].map((d) => `/sys/fs/cgroup/${d}/cgroup.subtree_control`)]);
  const w = new Map(p.writes);
  t.is(w.get('/sys/fs/cgroup/kubelab/lab/burstable/podu1/web/cpu.max'), '50000 100000');
  t.is(w.get('/sys/fs/cgroup/kubelab/lab/burstable/podu1/web/memory.max'), String(128 * 1024 * 1024));
  t.true(files.indexOf('/sys/fs/cgroup/kubelab/lab/burstable/podu1/web/cpu.max') > files.lastIndexOf('/sys/fs/cgroup/kubelab/lab/burstable/podu1/cgroup.subtree_control'));
});

test('no limits: v1 writes "-1" for quota and memory, v2 writes "max"', (t) => {
  const none = cgroupSettings(undefined);
  const v1 = new Map(planCgroup({ version: 1, root: '/r' }, 'x', none).writes);
  t.is(v1.get('/r/cpu/x/cpu.cfs_quota_us'), '-1');
  t.is(v1.get('/r/memory/x/memory.limit_in_bytes'), '-1');
  const v2 = new Map(planCgroup({ version: 2, root: '/r' }, 'x', none).writes);
  t.is(v2.get('/r/x/cpu.max'), 'max 100000');
  t.is(v2.get('/r/x/memory.max'), 'max');
});

test('initArgv spells every decision as a flag, the command after --', (t) => {
  const argv = initArgv(
    {
      netns: '/run/netns/p',
      rootfs: '/c/rootfs',
      lower: ['/l/top', '/l/base'],
      upper: '/c/upper',
      work: '/c/work',
      hostname: 'web',
      cwd: '/srv',
      uid: 1000,
      gid: 1000,
      groups: [1000, 10],
      caps: 0xa80425fbn,
      cgroups: ['/cg/a'],
      cgroupSets: [['/cg/a/memory.max', '100']],
      binds: [{ source: '/h/hosts', target: '/etc/hosts', readOnly: true }],
      env: ['PATH=/bin', 'A=b c'],
      pidFile: '/c/pid',
      argv: ['sh', '-c', 'echo --not-a-flag'],
    },
    '/bin/init',
  );
  t.deepEqual(argv, [
    '/bin/init', '--netns', '/run/netns/p', '--hostname', 'web', '--cgroup', '/cg/a', '--cgroup-set', '/cg/a/memory.max=100',
    '--rootfs', '/c/rootfs', '--lower', '/l/top:/l/base', '--upper', '/c/upper', '--work', '/c/work', '--bind', '/h/hosts=/etc/hosts:ro',
    '--pid-file', '/c/pid', '--cwd', '/srv', '--user', '1000:1000', '--groups', '1000,10', '--caps', 'a80425fb',
    '--env', 'PATH=/bin', '--env', 'A=b c', '--', 'sh', '-c', 'echo --not-a-flag',
  ]);
  t.deepEqual(initArgv({ netns: '/run/netns/p', pause: true }, '/bin/init'), ['/bin/init', '--netns', '/run/netns/p', '--pause']);
});

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n';
const GROUP = 'root:x:0:\nwheel:x:10:user\nuser:x:1000:\nwww-data:x:33:web,user\n';

test('credentials: numbers, names, primary and supplementary groups, as runc resolves them', (t) => {
  t.deepEqual(resolveCredentials({ user: 0 }, PASSWD, GROUP), { uid: 0, gid: 0, groups: [0] });
  t.deepEqual(resolveCredentials({ user: 'user' }, PASSWD, GROUP), { uid: 1000, gid: 1000, groups: [1000, 10, 33] });
  t.deepEqual(resolveCredentials({ user: 1000, group: 'www-data' }, PASSWD, GROUP), { uid: 1000, gid: 33, groups: [33, 10] });
  // A uid the image does not know runs with gid 0, as Docker does.
  t.deepEqual(resolveCredentials({ user: 4242 }, PASSWD, GROUP), { uid: 4242, gid: 0, groups: [0] });
  t.deepEqual(resolveCredentials({ user: 4242, group: 7 }, '', ''), { uid: 4242, gid: 7, groups: [7] });
});

test('credentials: an unknown user or group name is an error naming it', (t) => {
  t.throws(() => resolveCredentials({ user: 'ghost' }, PASSWD, GROUP), { instanceOf: UserError, message: /unable to find user ghost/ });
  t.throws(() => resolveCredentials({ user: 0, group: 'nogroup' }, PASSWD, GROUP), { instanceOf: UserError, message: /unable to find group nogroup/ });
});
