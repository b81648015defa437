import test from 'ava';
import { createHash } from 'node:crypto';
import { SpecError } from '../../../src/runtime/spec/errors.ts';
import {
  chainId,
  digestOf,
  digestProblem,
  imageConfigProblems,
  imageManifestProblems,
  isDigest,
  MEDIA_TYPE_IMAGE_CONFIG,
  MEDIA_TYPE_IMAGE_MANIFEST,
  MEDIA_TYPE_LAYER_GZIP,
  parseImageConfig,
  parseImageManifest,
} from '../../../src/runtime/spec/imageconfig.ts';

// The example image config of the OCI image spec (config.md).
const SPEC_EXAMPLE = {
  created: '2015-10-31T22:22:56.015925234Z',
  author: 'Alyssa P. Hacker <alyspdev@example.com>',
  architecture: 'amd64',
  os: 'linux',
  config: {
    User: 'alice',
    Memory: 2048,
    MemorySwap: 4096,
    CpuShares: 8,
    ExposedPorts: { '8080/tcp': {} },
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=oci_is_a', 'BAR=well_written_spec'],
    Entrypoint: ['/bin/my-app-binary'],
    Cmd: ['--foreground', '--config', '/etc/my-app.d/default.cfg'],
    Volumes: { '/var/job-result-data': {}, '/var/log/my-app-logs': {} },
    WorkingDir: '/home/alice',
  },
  rootfs: {
    diff_ids: [
      'sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1',
      'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
    ],
    type: 'layers',
  },
  history: [
    {
      created: '2015-10-31T22:22:54.690851953Z',
      created_by: '/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /',
    },
    { created: '2015-10-31T22:22:55.613815829Z', created_by: '/bin/sh -c #(nop) CMD ["sh"]', empty_layer: true },
  ],
};

test("the spec's example config is valid, from an object, text or bytes", (t) => {
  t.deepEqual(imageConfigProblems(SPEC_EXAMPLE), []);
  const text = JSON.stringify(SPEC_EXAMPLE);
  t.is(parseImageConfig(text).config?.User, 'alice');
  t.deepEqual(parseImageConfig(Buffer.from(text)).config?.Entrypoint, ['/bin/my-app-binary']);
  t.is(parseImageConfig(SPEC_EXAMPLE).rootfs.diff_ids.length, 2);
});

test('the smallest valid config: architecture, os and rootfs', (t) => {
  t.deepEqual(imageConfigProblems({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }), []);
  // Optional fields may be null, and unknown fields are ignored.
  t.deepEqual(imageConfigProblems({ architecture: 'amd64', os: 'linux', config: null, history: null, rootfs: { type: 'layers', diff_ids: [] }, extra: 1 }), []);
});

test('a Docker-built config with Healthcheck, Labels, StopSignal and Shell is valid', (t) => {
  const cfg = {
    ...SPEC_EXAMPLE,
    config: {
      ...SPEC_EXAMPLE.config,
      Labels: { 'org.opencontainers.image.source': 'https://example.com/repo' },
      StopSignal: 'SIGQUIT',
      Shell: ['/bin/sh', '-c'],
      ArgsEscaped: true,
      OnBuild: null,
      Healthcheck: { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 30000000000, Timeout: 3000000000, Retries: 3 },
    },
  };
  t.deepEqual(imageConfigProblems(cfg), []);
  for (const test of [[], ['NONE'], ['CMD', '/healthz']]) {
    t.deepEqual(imageConfigProblems({ ...cfg, config: { ...cfg.config, Healthcheck: { Test: test } } }), [], JSON.stringify(test));
  }
  for (const sig of ['SIGTERM', 'TERM', '9', 'SIGRTMIN+3']) {
    t.deepEqual(imageConfigProblems({ ...cfg, config: { ...cfg.config, StopSignal: sig } }), [], sig);
  }
});

test('every bad field is reported with its path', (t) => {
  const bad = {
    created: 'yesterday',
    os: 'linux',
    config: {
      User: 1000,
      ExposedPorts: { '80/icmp': {}, '8080': {}, '70000/tcp': {}, '53/udp': true },
      Env: ['PATH=/bin', 'NOEQUALS', '=value'],
      Entrypoint: '/bin/app',
      Cmd: ['ok', 5],
      Volumes: { 'data': {} },
      Labels: { a: 1 },
      StopSignal: 'please stop',
      Healthcheck: { Test: ['SHELL', 'x'], Retries: -1, Interval: 1.5 },
    },
    rootfs: { type: 'tar', diff_ids: ['sha256:abc', 'md5:0123'] },
    history: [{ created_by: 7, empty_layer: 'yes' }, 'x'],
  };
  const problems = imageConfigProblems(bad);
  t.deepEqual(
    problems.map((p) => p.path),
    [
      'created',
      'architecture',
      'config.User',
      'config.ExposedPorts["80/icmp"]',
      'config.ExposedPorts["70000/tcp"]',
      'config.ExposedPorts["53/udp"]',
      'config.Env[1]',
      'config.Env[2]',
      'config.Entrypoint',
      'config.Cmd[1]',
      'config.Volumes["data"]',
      'config.Labels["a"]',
      'config.StopSignal',
      'config.Healthcheck.Test[0]',
      'config.Healthcheck.Interval',
      'config.Healthcheck.Retries',
      'rootfs.type',
      'rootfs.diff_ids[0]',
      'history[0].created_by',
      'history[0].empty_layer',
      'history[1]',
    ],
  );
  const err = t.throws(() => parseImageConfig(bad), { instanceOf: SpecError }) as SpecError;
  t.is(err.problems.length, problems.length);
  t.true(err.message.includes('architecture: Required value'));
  t.true(err.message.includes('rootfs.type: unsupported value "tar": must be "layers"'));
  t.true(err.message.includes('config.Env[1]: "NOEQUALS" is not of the form NAME=value'));
});

test('missing rootfs and non-objects', (t) => {
  t.deepEqual(imageConfigProblems({ architecture: 'amd64', os: 'linux' }).map((p) => `${p.path}: ${p.message}`), ['rootfs: Required value']);
  t.deepEqual(imageConfigProblems({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }).map((p) => p.path), ['rootfs.diff_ids']);
  t.deepEqual(imageConfigProblems([]).map((p) => p.message), ['expected an image config object, got array']);
  t.throws(() => parseImageConfig('{not json'), { instanceOf: SpecError, message: /image config is not JSON/ });
});

// sha256 test vectors: FIPS 180-2 ("abc") and the empty input.
test('digestOf gives sha256:<hex>', (t) => {
  t.is(digestOf(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.is(digestOf(Buffer.from('abc')), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.is(digestOf(new Uint8Array([0x61, 0x62, 0x63])), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.is(
    digestOf('abc', 'sha512'),
    'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  );
});

test('ChainID follows the spec formula', (t) => {
  const [a, b, c] = ['one', 'two', 'three'].map((s) => digestOf(s)) as [string, string, string];
  const sha = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex');
  t.is(chainId([a]), a);
  t.is(chainId([a, b]), sha(`${a} ${b}`));
  t.is(chainId([a, b, c]), sha(`${sha(`${a} ${b}`)} ${c}`));
  t.throws(() => chainId([]), { instanceOf: SpecError });
});

// The digest grammar and the examples of descriptor.md.
const DIGESTS: [string, boolean][] = [
  ['sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b', true],
  ['sha512:' + 'a'.repeat(128), true],
  ['multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8', true], // valid, though unregistered
  ['sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', true],
  ['sha256:6C3C624B58DBBCD3C0DD82B4C53F04194D1247C6EEBDAAB7C610CF7D66709B3B', false], // sha256 is lowercase hex
  ['sha256:abc', false],
  ['sha512:' + 'a'.repeat(64), false],
  ['SHA256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b', false],
  ['sha256', false],
  ['sha256:', false],
  [':abc', false],
  ['sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b ', false],
];
for (const [digest, valid] of DIGESTS) {
  test(`${valid ? 'accepts' : 'rejects'} digest ${digest.slice(0, 40)}…`, (t) => {
    t.is(isDigest(digest), valid);
    t.is(digestProblem(digest) === undefined, valid);
  });
}

const MANIFEST = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPE_IMAGE_MANIFEST,
  config: { mediaType: MEDIA_TYPE_IMAGE_CONFIG, digest: digestOf(JSON.stringify(SPEC_EXAMPLE)), size: JSON.stringify(SPEC_EXAMPLE).length },
  layers: [
    { mediaType: MEDIA_TYPE_LAYER_GZIP, digest: digestOf('layer one'), size: 32654 },
    { mediaType: MEDIA_TYPE_LAYER_GZIP, digest: digestOf('layer two'), size: 16724, urls: ['https://example.com/layer'] },
  ],
  annotations: { 'com.example.key1': 'value1' },
};

test('a manifest with config and layers is valid', (t) => {
  t.deepEqual(imageManifestProblems(MANIFEST), []);
  t.is(parseImageManifest(JSON.stringify(MANIFEST)).layers.length, 2);
  t.deepEqual(imageManifestProblems({ ...MANIFEST, mediaType: undefined }), []); // mediaType is a SHOULD
  t.deepEqual(imageManifestProblems({ ...MANIFEST, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' }), []);
});

test('bad manifests are reported field by field', (t) => {
  const problems = imageManifestProblems({
    schemaVersion: 1,
    mediaType: 'application/json',
    config: { mediaType: 'not a media type', digest: 'sha256:xyz', size: -1 },
    layers: [{ mediaType: MEDIA_TYPE_LAYER_GZIP, size: 10 }, 'x'],
    annotations: { n: 1 },
  });
  t.deepEqual(
    problems.map((p) => p.path),
    [
      'schemaVersion',
      'mediaType',
      'config.mediaType',
      'config.digest',
      'config.size',
      'layers[0].digest',
      'layers[1]',
      'annotations["n"]',
    ],
  );
  t.deepEqual(imageManifestProblems({ schemaVersion: 2, config: MANIFEST.config }).map((p) => `${p.path}: ${p.message}`), ['layers: Required value']);
  t.throws(() => parseImageManifest({ schemaVersion: 2 }), { instanceOf: SpecError, message: /config: Required value/ });
});
