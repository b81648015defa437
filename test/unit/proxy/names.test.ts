import test from 'ava';
import {
  IPTABLES_CHAIN_MAX,
  base32,
  iptablesEndpointChain,
  iptablesServiceChains,
  nftEndpointBase,
  nftServiceBase,
  servicePortName,
} from '../../../src/proxy/names.ts';
import { base32Reference, sha256 } from './helpers.ts';

// Chain names that appear in every kubeadm cluster's `iptables-save` (the API server and kube-dns
// services), as published in countless kube-proxy write-ups: kubelab must print the same names.
const WELL_KNOWN: [string, string, string][] = [
  ['default/kubernetes:https', 'tcp', 'KUBE-SVC-NPX46M4PTMTKRN6Y'],
  ['kube-system/kube-dns:dns', 'udp', 'KUBE-SVC-TCOU7JCQXEZGVUNU'],
  ['kube-system/kube-dns:dns-tcp', 'tcp', 'KUBE-SVC-ERIFXISQEP7F7OF4'],
  ['kube-system/kube-dns:metrics', 'tcp', 'KUBE-SVC-JD5MR3NA4I4DYORP'],
];

for (const [name, proto, expected] of WELL_KNOWN) {
  test(`service chain of ${name}/${proto} is the one real clusters show`, (t) => {
    t.is(iptablesServiceChains(name, proto).svc, expected);
  });
}

test('base32 matches RFC 4648 test vectors', (t) => {
  // RFC 4648 section 10 (without padding, which kube-proxy truncates away anyway).
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [input, out] of vectors) t.is(base32(Buffer.from(input)), out, input);
});

const PORTS: [string, string, string, string][] = [
  ['default', 'web', 'http', 'tcp'],
  ['kube-system', 'kube-dns', 'dns', 'udp'],
  ['a-very-long-namespace-name-that-is-still-valid', 'and-a-long-service-name-too', 'metrics-port', 'sctp'],
  ['default', 'single', '', 'tcp'],
];

for (const [ns, name, port, proto] of PORTS) {
  test(`iptables chains of ${ns}/${name}:${port}/${proto} follow sha256 + base32, first 16`, (t) => {
    const spn = servicePortName(ns, name, port);
    t.is(spn, port ? `${ns}/${name}:${port}` : `${ns}/${name}`);
    const hash = base32Reference(sha256(spn + proto)).slice(0, 16);
    const chains = iptablesServiceChains(spn, proto);
    t.deepEqual(chains, { svc: `KUBE-SVC-${hash}`, svl: `KUBE-SVL-${hash}`, ext: `KUBE-EXT-${hash}`, fw: `KUBE-FW-${hash}` });
    const sep = iptablesEndpointChain(spn, proto, '10.244.1.5:8080');
    t.is(sep, `KUBE-SEP-${base32Reference(sha256(`${spn}${proto}10.244.1.5:8080`)).slice(0, 16)}`);
    for (const c of [...Object.values(chains), sep]) t.true(c.length <= IPTABLES_CHAIN_MAX, c);
  });

  test(`nft names of ${ns}/${name}:${port}/${proto} are HASH8-ns/name/proto/port`, (t) => {
    const readable = `${ns}/${name}/${proto}/${port}`;
    t.is(nftServiceBase(ns, name, proto, port), `${base32Reference(sha256(readable)).slice(0, 8)}-${readable}`);
    const epReadable = `${readable}__10.244.1.5/8080`;
    t.is(nftEndpointBase(ns, name, proto, port, '10.244.1.5', 8080), `${base32Reference(sha256(epReadable)).slice(0, 8)}-${epReadable}`);
  });
}

test('nft names stay within nft limits even for maximal Kubernetes names', (t) => {
  const long = 'x'.repeat(63);
  const base = nftEndpointBase(long, long, 'sctp', long, 'fd00:1234:5678:9abc:def0:1234:5678:9abc', 65535);
  // 16 characters are left for kube-proxy's prefixes (`endpoint-`, `affinity-`); nft allows 256.
  t.true(base.length <= 240);
  t.false(base.includes(':'), 'IPv6 colons are not allowed in nft names');
});
