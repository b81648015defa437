// Image source specs: which transport a string names (no I/O), and the errors of specs that name none.
import test from 'ava';
import { parseImageSource, SourceError } from '../../../src/image/sources.ts';

for (const [spec, want] of [
  ['oci:/tmp/layout', { kind: 'oci-layout', dir: '/tmp/layout' }],
  ['oci:/tmp/layout:busybox:latest', { kind: 'oci-layout', dir: '/tmp/layout', ref: 'busybox:latest' }],
  ['oci:./rel:v1', { kind: 'oci-layout', dir: './rel', ref: 'v1' }],
  ['oci-layout:///tmp/layout:v1', { kind: 'oci-layout', dir: '/tmp/layout', ref: 'v1' }],
  ['oci-layout://dir', { kind: 'oci-layout', dir: 'dir' }],
  ['docker-archive:/tmp/a.tar', { kind: 'docker-archive', file: '/tmp/a.tar' }],
  ['docker-archive:/tmp/a.tar:busybox:latest', { kind: 'docker-archive', file: '/tmp/a.tar', ref: 'busybox:latest' }],
  ['docker-daemon:busybox:latest', { kind: 'docker-daemon', ref: 'busybox:latest' }],
  ['docker-image://localhost:5000/x:1', { kind: 'docker-daemon', ref: 'localhost:5000/x:1' }],
  ['localhost:5000/lab/busybox:1', { kind: 'registry', ref: 'localhost:5000/lab/busybox:1' }],
  ['registry.k8s.io/e2e-test-images/agnhost:2.43', { kind: 'registry', ref: 'registry.k8s.io/e2e-test-images/agnhost:2.43' }],
  ['docker.io/library/busybox', { kind: 'registry', ref: 'docker.io/library/busybox' }],
  ['busybox', { kind: 'store', ref: 'busybox' }],
  ['busybox:latest', { kind: 'store', ref: 'busybox:latest' }],
  ['kubelab/dns', { kind: 'store', ref: 'kubelab/dns' }],
] as const) {
  test(`source ${spec}`, (t) => t.deepEqual(parseImageSource(spec), want as never));
}

for (const [spec, message] of [
  ['', /is empty/],
  ['oci:', /the layout directory is missing/],
  ['oci::v1', /the layout directory is missing/],
  ['docker-archive:', /the archive file is missing/],
  ['docker-daemon:', /the image reference is missing/],
  ['s3://bucket/x', /unknown transport/],
] as const) {
  test(`source ${JSON.stringify(spec)} is refused`, (t) => t.throws(() => parseImageSource(spec), { instanceOf: SourceError, message }));
}
