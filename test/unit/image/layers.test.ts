// Layer member names: cleaned into the root, or refused when they would leave it.
import test from 'ava';
import { LayerError, memberPath } from '../../../src/image/layers.ts';
import { normalizeRef } from '../../../src/image/store.ts';

for (const [name, want] of [
  ['./etc/passwd', 'etc/passwd'],
  ['/etc/passwd', 'etc/passwd'],
  ['a/b/../c', 'a/c'],
  ['a//b/./c/', 'a/b/c'],
  ['./', ''],
] as const) {
  test(`member ${JSON.stringify(name)} is ${JSON.stringify(want)}`, (t) => t.is(memberPath(name), want));
}

for (const name of ['../x', 'a/../../x', '/../etc/passwd']) {
  test(`member ${JSON.stringify(name)} escapes the root and is refused`, (t) => {
    t.throws(() => memberPath(name), { instanceOf: LayerError, message: /escapes the root/ });
  });
}

for (const [ref, want] of [
  ['busybox', 'busybox:latest'],
  ['docker.io/library/busybox', 'busybox:latest'],
  ['library/busybox:1.36', 'busybox:1.36'],
  ['kubelab/dns', 'kubelab/dns:latest'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['registry.k8s.io/e2e-test-images/agnhost:2.43', 'registry.k8s.io/e2e-test-images/agnhost:2.43'],
  ['busybox@sha256:' + 'a'.repeat(64), 'busybox@sha256:' + 'a'.repeat(64)],
] as const) {
  test(`reference ${ref} normalizes to ${want}`, (t) => t.is(normalizeRef(ref), want));
}
