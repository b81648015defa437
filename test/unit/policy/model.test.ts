// The policy model against the documented semantics, in the layout of the Kubernetes e2e suite:
// namespaces x, y, z with pods a, b, c (labels pod=a|b|c, namespaces ns=x|y|z), ports 80 and 81.
// Each case writes the full 9x9 matrix, rows = from, columns = to, in x/a x/b x/c y/a ... z/c order:
// '.' allowed, 'X' denied.
import test from 'ava';
import { type Cluster, evaluate, type Protocol, truthTable } from '../../../src/policy/model.ts';
import type { NetworkPolicy, PolicyPod } from '../../../src/policy/types.ts';
import { validateNetworkPolicy } from '../../../src/policy/validate.ts';

const NS = ['x', 'y', 'z'];
const PODS = ['a', 'b', 'c'];
const ip = (ns: string, pod: string) => `10.244.${NS.indexOf(ns) + 1}.${PODS.indexOf(pod) + 10}`;

function cluster(policies: NetworkPolicy[]): Cluster {
  const pods: PolicyPod[] = NS.flatMap((ns) =>
    PODS.map((p) => ({
      metadata: { name: p, namespace: ns, labels: { pod: p } },
      spec: { containers: [{ ports: [{ name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' }, { name: 'serve-81-tcp', containerPort: 81, protocol: 'TCP' }, { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' }, { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' }] }] },
      status: { podIP: ip(ns, p) },
    })),
  );
  return { policies, namespaces: NS.map((n) => ({ metadata: { name: n, labels: { ns: n } } })), pods };
}

function matrix(c: Cluster, port: number, protocol: Protocol): string {
  const cells = truthTable(c, [port], [protocol]);
  const rows: string[] = [];
  for (let i = 0; i < 9; i++) rows.push(cells.slice(i * 9, i * 9 + 9).map((x) => (x.allowed ? '.' : 'X')).join(''));
  return rows.join('\n');
}

const m = (...rows: string[]) => rows.join('\n');
const ALL = m(...Array(9).fill('.........'));
const np = (name: string, namespace: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({ metadata: { name, namespace }, spec });

interface Case {
  title: string;
  policies: NetworkPolicy[];
  expect: { port: number; protocol: Protocol; matrix: string }[];
}

const CASES: Case[] = [
  { title: 'no policies: everything is allowed', policies: [], expect: [{ port: 80, protocol: 'TCP', matrix: ALL }] },
  {
    title: 'default deny ingress in x: nothing reaches x except each pod itself',
    policies: [np('deny', 'x', { podSelector: {}, policyTypes: ['Ingress'] })],
    expect: [{ port: 80, protocol: 'TCP', matrix: m('.XX......', 'X.X......', 'XX.......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......') }],
  },
  {
    title: 'default deny egress in x: pods of x reach nothing but themselves',
    policies: [np('deny', 'x', { podSelector: {}, policyTypes: ['Egress'] })],
    expect: [{ port: 81, protocol: 'UDP', matrix: m('.XXXXXXXX', 'X.XXXXXXX', 'XX.XXXXXX', '.........', '.........', '.........', '.........', '.........', '.........') }],
  },
  {
    title: 'allow-all ingress after a deny: the union admits everything',
    policies: [np('deny', 'x', { podSelector: {}, policyTypes: ['Ingress'] }), np('allow', 'x', { podSelector: {}, ingress: [{}] })],
    expect: [{ port: 80, protocol: 'TCP', matrix: ALL }],
  },
  {
    title: 'x/a admits pod=b from its own namespace only (podSelector alone)',
    policies: [np('p', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    expect: [{ port: 80, protocol: 'TCP', matrix: m('.........', '.........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........') }],
  },
  {
    title: 'namespaceSelector and podSelector in one peer are an AND; in two peers an OR',
    policies: [np('and', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    expect: [{ port: 80, protocol: 'TCP', matrix: m('.........', 'X........', 'X........', 'X........', '.........', 'X........', 'X........', 'X........', 'X........') }],
  },
  {
    title: 'the same selectors as two peers: y (any pod) or x/b',
    policies: [np('or', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    expect: [{ port: 80, protocol: 'TCP', matrix: m('.........', '.........', 'X........', '.........', '.........', '.........', 'X........', 'X........', 'X........') }],
  },
  {
    title: 'matchExpressions: x/a admits pods whose pod label is not c, from any namespace',
    policies: [np('expr', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['c'] }] } }] }] })],
    expect: [{ port: 80, protocol: 'TCP', matrix: m('.........', '.........', 'X........', '.........', '.........', 'X........', '.........', '.........', 'X........') }],
  },
  {
    title: 'ports: x/a admits everyone on 81/TCP only (by number), nothing on 80',
    policies: [np('port', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 81, protocol: 'TCP' }] }] })],
    expect: [
      { port: 80, protocol: 'TCP', matrix: m('.........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........') },
      { port: 81, protocol: 'TCP', matrix: ALL },
      { port: 81, protocol: 'UDP', matrix: m('.........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........') },
    ],
  },
  {
    title: 'a named port resolves per destination pod; endPort covers a range',
    policies: [np('named', 'x', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }, { port: 70, endPort: 80, protocol: 'TCP' }] }] })],
    expect: [
      { port: 80, protocol: 'UDP', matrix: ALL },
      { port: 80, protocol: 'TCP', matrix: ALL },
      { port: 81, protocol: 'TCP', matrix: m('.XX......', 'X.X......', 'XX.......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......') },
    ],
  },
  {
    title: 'ipBlock with except: x/a admits 10.244.0.0/16 but not z (10.244.3.0/24)',
    policies: [np('block', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.3.0/24'] } }] }] })],
    expect: [{ port: 80, protocol: 'TCP', matrix: m('.........', '.........', '.........', '.........', '.........', '.........', 'X........', 'X........', 'X........') }],
  },
  {
    title: 'policyTypes omitted with an egress section: both directions are isolated',
    policies: [np('both', 'y', { podSelector: { matchLabels: { pod: 'b' } }, egress: [{ to: [{ podSelector: { matchLabels: { pod: 'a' } } }] }] })],
    // podSelector alone in the egress peer means pods of y: y/b may only reach y/a (and itself).
    expect: [{ port: 80, protocol: 'TCP', matrix: m('....X....', '....X....', '....X....', '....X....', 'XXX..XXXX', '....X....', '....X....', '....X....', '....X....') }],
  },
  {
    title: 'egress and ingress both need to allow: x/a may only send to y, y/b only accepts from x',
    policies: [
      np('egress', 'x', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] }),
      np('ingress', 'y', { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'x' } } }] }] }),
    ],
    expect: [{ port: 80, protocol: 'TCP', matrix: m('.XX...XXX', '.........', '.........', '....X....', '.........', '....X....', '....X....', '....X....', '....X....') }],
  },
];

for (const c of CASES) {
  test(`truth table: ${c.title}`, (t) => {
    const cl = cluster(c.policies);
    for (const e of c.expect) t.is(matrix(cl, e.port, e.protocol), e.matrix, `${e.port}/${e.protocol}`);
  });
}

test('the verdict names the policy, rule, peer and port that admitted a connection, or that none did', (t) => {
  const cl = cluster([np('p', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }, { podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 81 }] }] })]);
  const pod = (ns: string, name: string) => cl.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name)!;
  const ok = evaluate(cl, { src: { pod: pod('x', 'b') }, dst: { pod: pod('x', 'a') }, port: 81, protocol: 'TCP' });
  t.true(ok.allowed);
  t.deepEqual(ok.ingress.admittedBy, { policy: 'x/p', rule: 0, peer: 1, port: 0 });
  t.regex(ok.reasons[1]!, /isolated by x\/p; allowed by x\/p rule 0 peer 1 port 0/);
  const no = evaluate(cl, { src: { pod: pod('x', 'b') }, dst: { pod: pod('x', 'a') }, port: 80, protocol: 'TCP' });
  t.false(no.allowed);
  t.regex(no.reasons[1]!, /no rule admits it: denied/);
  t.regex(no.reasons[0]!, /not isolated/);
  const external = evaluate(cl, { src: { ip: '203.0.113.100' }, dst: { pod: pod('x', 'a') }, port: 81, protocol: 'TCP' });
  t.false(external.allowed, 'selectors never match an external address');
});

for (const [title, spec, path, message] of [
  ['an invalid CIDR', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0/8' } }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr', /must be a valid CIDR/],
  ['an except outside its cidr', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['10.1.0.0/16'] } }] }] }, 'spec.ingress[0].from[0].ipBlock.except[0]', /strict subset of `cidr`/],
  ['endPort without port', { podSelector: {}, egress: [{ ports: [{ endPort: 90 }] }] }, 'spec.egress[0].ports[0].endPort', /may not be specified when `port` is not specified/],
  ['endPort below port', { podSelector: {}, egress: [{ ports: [{ port: 90, endPort: 80 }] }] }, 'spec.egress[0].ports[0].endPort', /greater than or equal/],
  ['endPort with a named port', { podSelector: {}, egress: [{ ports: [{ port: 'http', endPort: 80 }] }] }, 'spec.egress[0].ports[0].endPort', /non-numeric/],
  ['an unknown protocol', { podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP', port: 1 }] }] }, 'spec.ingress[0].ports[0].protocol', /unsupported value "ICMP": supported values "TCP", "UDP", "SCTP"/],
  ['ipBlock with a selector in one peer', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, 'spec.ingress[0].from[0]', /more than 1 peer type/],
  ['a bad policyType', { podSelector: {}, policyTypes: ['Sideways'] }, 'spec.policyTypes[0]', /supported values "Ingress", "Egress"/],
  ['In without values', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, 'spec.podSelector.matchExpressions[0].values', /Required value/],
] as const) {
  test(`validation: ${title} names the field`, (t) => {
    const errors = validateNetworkPolicy({ metadata: { name: 'p' }, spec });
    t.true(errors.some((e) => e.path === path && message.test(e.message)), JSON.stringify(errors));
  });
}

test('validation: a correct policy has no errors', (t) => {
  t.deepEqual(validateNetworkPolicy({ spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80, endPort: 90 }, { port: 'http', protocol: 'UDP' }] }], egress: [{}] } }), []);
});
