import test from 'ava';
import {
  containerEnv,
  containerProcess,
  expandVars,
  mergeEnv,
  parseImageUser,
  processUser,
  selectArgv,
  type ImageRunDefaults,
} from '../../../src/runtime/spec/command.ts';
import { SpecError } from '../../../src/runtime/spec/errors.ts';

// The table of "Define a Command and Arguments for a Container".
const IMAGE: ImageRunDefaults = { Entrypoint: ['/ep-1'], Cmd: ['foo', 'bar'] };
const TABLE: [string[] | undefined, string[] | undefined, string[]][] = [
  [undefined, undefined, ['/ep-1', 'foo', 'bar']],
  [['/ep-2'], undefined, ['/ep-2']],
  [undefined, ['zoo', 'boo'], ['/ep-1', 'zoo', 'boo']],
  [['/ep-2'], ['zoo', 'boo'], ['/ep-2', 'zoo', 'boo']],
];
for (const [command, args, expected] of TABLE) {
  test(`command ${JSON.stringify(command ?? '<not set>')} args ${JSON.stringify(args ?? '<not set>')} runs ${expected.join(' ')}`, (t) => {
    t.deepEqual(selectArgv({ command, args }, IMAGE), expected);
    t.deepEqual(containerProcess({ name: 'c', command, args }, IMAGE).argv, expected);
  });
}

test('images without an Entrypoint run Cmd; empty lists count as unset', (t) => {
  t.deepEqual(selectArgv({}, { Cmd: ['sh'] }), ['sh']);
  t.deepEqual(selectArgv({ args: ['echo', 'hi'] }, { Cmd: ['sh'] }), ['echo', 'hi']);
  t.deepEqual(selectArgv({ command: [], args: [] }, IMAGE), ['/ep-1', 'foo', 'bar']);
  t.deepEqual(selectArgv({}, { Entrypoint: [''], Cmd: ['sh'] }), ['sh']); // Docker's --entrypoint ""
  t.deepEqual(selectArgv({}, { Entrypoint: null, Cmd: null }), []);
});

test('no program to run is an error naming the container', (t) => {
  const err = t.throws(() => containerProcess({ name: 'web' }, { Entrypoint: null, Cmd: null }, { path: 'spec.containers[2]' }), {
    instanceOf: SpecError,
  });
  t.is(err!.path, 'spec.containers[2]');
  t.regex(err!.message, /^spec\.containers\[2\]: container "web" has no command to run/);
  t.throws(() => containerProcess({ name: 'web', command: [] }, {}), { message: /container "web"/ });
});

// kubelet's expansion rules, checked on the cases its own tests enumerate.
const VARS: Record<string, string> = { VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)', VAR_EMPTY: '' };
const lookup = (name: string) => (Object.hasOwn(VARS, name) ? VARS[name] : undefined);
const EXPANSIONS: [string, string][] = [
  ['$(VAR_A)', 'A'],
  ['$(VAR_A)-$(VAR_A)', 'A-A'],
  ['___$(VAR_B)___', '___B___'],
  ['$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'],
  ['$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'],
  ['$$(VAR_A)_$$(VAR_B)', '$(VAR_A)_$(VAR_B)'],
  ['f000-$$VAR_A', 'f000-$VAR_A'],
  ['foo\\$(VAR_C)bar', 'foo\\Cbar'],
  ['$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'],
  ['$(VAR_A$(VAR_B)', '$(VAR_A$(VAR_B)'],
  ['$(VAR_REF)', '$(VAR_A)'], // values are not expanded twice
  ['foo$(VAR_EMPTY)bar', 'foobar'],
  ['foo$(VAR_Awhoops!', 'foo$(VAR_Awhoops!'],
  ['f00__(VAR_A)__', 'f00__(VAR_A)__'],
  ['$?_boo_$!', '$?_boo_$!'],
  ['$VAR_A', '$VAR_A'],
  ['$(VAR_DNE)', '$(VAR_DNE)'],
  ['$$$$$$(BIG_MONEY)', '$$$(BIG_MONEY)'],
  ['$$$$$$(VAR_A)', '$$$(VAR_A)'],
  ['$$$$$$$(GOOD_ODDS)', '$$$$(GOOD_ODDS)'],
  ['$$$$$$$(VAR_A)', '$$$A'],
  ['$VAR_A)', '$VAR_A)'],
  ['${VAR_A}', '${VAR_A}'],
  ['$(VAR_B)_______$(A', 'B_______$(A'],
  ['$(VAR_C)_______$(', 'C_______$('],
  ['$(VAR_A)foobarzab$', 'Afoobarzab$'],
  ['--$($($($($--', '--$($($($($--'],
  ['$(foo$$var)', '$(foo$$var)'],
  ['\n', '\n'],
  ['', ''],
];
for (const [input, expected] of EXPANSIONS) {
  test(`expands ${JSON.stringify(input)} to ${JSON.stringify(expected)}`, (t) => t.is(expandVars(input, lookup), expected));
}

test('env values see earlier entries only, already expanded', (t) => {
  const env = containerEnv([
    { name: 'FOO', value: 'bar' },
    { name: 'ZOO', value: '$(FOO)-1' },
    { name: 'BLU', value: '$(ZOO)-2' },
    { name: 'FWD', value: '$(LATER)' },
    { name: 'LATER', value: 'x' },
    { name: 'NONE' },
  ]);
  t.deepEqual([...env], [
    ['FOO', 'bar'],
    ['ZOO', 'bar-1'],
    ['BLU', 'bar-1-2'],
    ['FWD', '$(LATER)'],
    ['LATER', 'x'],
    ['NONE', ''],
  ]);
});

test('a redeclared variable takes the later value and can refer to the earlier one', (t) => {
  const env = containerEnv([
    { name: 'A', value: '1' },
    { name: 'B', value: '2' },
    { name: 'A', value: '$(A)+3' },
  ]);
  t.deepEqual([...env], [
    ['A', '1+3'],
    ['B', '2'],
  ]);
});

test('service variables are a source and are appended unless declared', (t) => {
  const env = containerEnv([{ name: 'URL', value: 'http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)' }, { name: 'WEB_SERVICE_PORT', value: '8080' }], {
    WEB_SERVICE_HOST: '10.96.0.20',
    WEB_SERVICE_PORT: '80',
  });
  t.deepEqual([...env], [
    ['URL', 'http://10.96.0.20:80'],
    ['WEB_SERVICE_PORT', '8080'],
    ['WEB_SERVICE_HOST', '10.96.0.20'],
  ]);
});

test('command and args are expanded from the container env; the image Entrypoint/Cmd and Env are not', (t) => {
  const p = containerProcess(
    {
      name: 'c',
      command: ['/bin/echo', '$(GREETING)', '$$(GREETING)', '$(PATH)', '$(MISSING)'],
      env: [{ name: 'GREETING', value: 'hello $(WHO)' }, { name: 'WHO', value: 'world' }],
    },
    { Env: ['PATH=/usr/bin'] },
  );
  t.deepEqual(p.argv, ['/bin/echo', 'hello $(WHO)', '$(GREETING)', '$(PATH)', '$(MISSING)']);
  const q = containerProcess({ name: 'c', env: [{ name: 'X', value: '1' }] }, { Entrypoint: ['/run', '$(X)'] });
  t.deepEqual(q.argv, ['/run', '$(X)']);
  const r = containerProcess({ name: 'c', args: ['--level=$(X)'], env: [{ name: 'X', value: '1' }] }, { Entrypoint: ['/run'] });
  t.deepEqual(r.argv, ['/run', '--level=1']);
});

test('env: image Env first, the container env over it in place, later wins', (t) => {
  t.deepEqual(
    mergeEnv(
      ['PATH=/usr/local/bin:/usr/bin', 'FOO=oci_is_a', 'BAR=well_written_spec'],
      new Map([
        ['FOO', 'from-pod'],
        ['NEW', 'x=y'],
      ]),
    ),
    ['PATH=/usr/local/bin:/usr/bin', 'FOO=from-pod', 'BAR=well_written_spec', 'NEW=x=y'],
  );
  const p = containerProcess({ name: 'c', command: ['x'], env: [{ name: 'PATH', value: '/bin' }, { name: 'A', value: '1' }, { name: 'A', value: '2' }] }, {
    Env: ['PATH=/usr/bin', 'HOME=/root'],
  });
  t.deepEqual(p.env, ['PATH=/bin', 'HOME=/root', 'A=2']);
});

test('working directory: the container, else the image, else /', (t) => {
  t.is(containerProcess({ name: 'c', command: ['x'], workingDir: '/srv' }, { WorkingDir: '/app' }).cwd, '/srv');
  t.is(containerProcess({ name: 'c', command: ['x'] }, { WorkingDir: '/app' }).cwd, '/app');
  t.is(containerProcess({ name: 'c', command: ['x'] }, {}).cwd, '/');
  // workingDir is not a place where $(VAR) is expanded.
  t.is(containerProcess({ name: 'c', command: ['x'], workingDir: '/$(X)', env: [{ name: 'X', value: 'y' }] }).cwd, '/$(X)');
});

// The user forms the image config spec lists: user, uid, user:group, uid:gid, uid:group, user:gid.
const USERS: [string, ReturnType<typeof parseImageUser>][] = [
  ['', undefined],
  ['alice', { user: 'alice' }],
  ['1000', { user: 1000 }],
  ['alice:staff', { user: 'alice', group: 'staff' }],
  ['1000:1000', { user: 1000, group: 1000 }],
  ['1000:staff', { user: 1000, group: 'staff' }],
  ['alice:50', { user: 'alice', group: 50 }],
  ['0', { user: 0 }],
];
for (const [text, expected] of USERS) {
  test(`image User ${JSON.stringify(text)}`, (t) => t.deepEqual(parseImageUser(text), expected));
}

test('malformed image users are errors', (t) => {
  for (const bad of [':1', '1:', 'a:b:c']) t.throws(() => parseImageUser(bad), { instanceOf: SpecError, message: /invalid user/ });
});

test('runAsUser/runAsGroup over the image User', (t) => {
  const image = { User: 'app:staff' };
  t.deepEqual(processUser(image), { user: 'app', group: 'staff' });
  t.deepEqual(processUser({}), { user: 0 });
  t.deepEqual(processUser(image, { runAsUser: 1000 }), { user: 1000 }); // the image User is ignored entirely
  t.deepEqual(processUser(image, { runAsUser: 1000, runAsGroup: 3000 }), { user: 1000, group: 3000 });
  t.deepEqual(processUser(image, { runAsGroup: 3000 }), { user: 'app', group: 3000 });
  t.deepEqual(processUser({}, { runAsGroup: 3000 }), { user: 0, group: 3000 });
  // The pod's securityContext applies where the container's says nothing.
  t.deepEqual(processUser(image, { runAsGroup: 5 }, { runAsUser: 1000, runAsGroup: 2000 }), { user: 1000, group: 5 });
  t.deepEqual(processUser(image, undefined, { runAsUser: 1000 }), { user: 1000 });
  t.deepEqual(
    containerProcess({ name: 'c', command: ['x'], securityContext: { runAsUser: 0 } }, { User: 'nobody' }, { podSecurityContext: { runAsUser: 1 } }).user,
    { user: 0 },
  );
});

test('invalid runAsUser is reported with its path', (t) => {
  const err = t.throws(() => processUser({}, { runAsUser: -1, runAsGroup: 1.5 }, undefined, 'spec.containers[1]'), { instanceOf: SpecError }) as SpecError;
  t.deepEqual(
    err.problems.map((p) => p.path),
    ['spec.containers[1].securityContext.runAsUser', 'spec.containers[1].securityContext.runAsGroup'],
  );
});
