import test from 'ava';
import { ManifestError, parseManifests } from '../../../src/manifests/load.ts';

const problems = (text: string) => {
  try {
    parseManifests(text, 'm.yaml');
  } catch (e) {
    if (e instanceof ManifestError) return e.problems;
    throw e;
  }
  return [];
};

const pod = (extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: c
      image: busybox
${extra}`;

test('a valid pod loads with its line', (t) => {
  const [o] = parseManifests(`---\n${pod()}`, 'm.yaml');
  t.is(o!.object.metadata.name, 'web');
  t.is(o!.line, 2);
});

test('invalid YAML names the file and line', (t) => {
  const p = problems('apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n');
  t.is(p.length > 0, true);
  t.regex(p[0]!, /^m\.yaml:\d+: invalid YAML/);
});

test('an unknown field is reported at its line with its path', (t) => {
  const p = problems(pod('      imagePullPolicee: Always\n'));
  t.deepEqual(p, ['m.yaml:9: spec.containers[0].imagePullPolicee: unknown field "imagePullPolicee" (Pod web)']);
});

test('an unknown kind is reported', (t) => {
  t.regex(problems('apiVersion: v1\nkind: Widget\nmetadata: {name: x}\n')[0]!, /m\.yaml:2: kind: unknown kind "Widget"/);
});

test('a name that is not DNS-1123 is refused', (t) => {
  t.regex(problems(pod().replace('name: web', 'name: Web_1'))[0]!, /m\.yaml:4: metadata\.name: "Web_1" is not a valid DNS-1123 subdomain/);
});

test('out of range port, bad protocol and duplicate container names are all reported', (t) => {
  const text = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
    - name: c
      image: busybox
      ports: [{containerPort: 70000, protocol: ICMP}]
    - name: c
      image: busybox
`;
  const p = problems(text);
  t.true(p.some((l) => /m\.yaml:8: spec\.containers\[0\]\.ports\[0\]\.containerPort: 70000 is out of range/.test(l)));
  t.true(p.some((l) => /protocol: unsupported value "ICMP"/.test(l)));
  t.true(problems(text.replace('70000', '80').replace('ICMP', 'TCP')).some((l) => /m\.yaml:9: spec\.containers\[1\]\.name: Duplicate value/.test(l)));
});

test('one bad document fails the whole file', (t) => {
  t.throws(() => parseManifests(`${pod()}---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: c}]}\n`, 'm.yaml'), {
    instanceOf: ManifestError,
    message: /spec\.containers\[0\]\.image: Required value/,
  });
});

test('duplicate keys in YAML are an error', (t) => {
  t.regex(problems('apiVersion: v1\nkind: Pod\nkind: Pod\nmetadata: {name: a}\n')[0]!, /m\.yaml:3: invalid YAML/);
});

test('a bad NetworkPolicy is refused with the field at fault', (t) => {
  const p = problems('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: {cidr: 10.0.0/8}\n');
  t.deepEqual(p, ['m.yaml:8: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0/8": must be a valid CIDR (NetworkPolicy np)']);
});
