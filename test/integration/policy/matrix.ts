// The truth-table helpers of the NetworkPolicy integration tests: `policy verify` read back as a 9x9
// matrix ('.' connected, 'X' blocked), and a wait until the kernel shows the expected one.
import { waitFor } from '../../../src/util/proc.ts';
import { kubelab } from '../helpers.ts';

export const m = (...rows: string[]) => rows.join('\n');
export const ALL = m(...Array(9).fill('.........'));

export interface Verify {
  probes: number;
  mismatches: number;
  seconds: number;
  results: { from: string; to: string; port: number; protocol: string; connected: boolean; expected: boolean }[];
}

export async function verifyMatrix(name: string, port: number, protocol: 'tcp' | 'udp'): Promise<{ matrix: string; mismatches: number }> {
  const r = await kubelab(name, ['policy', 'verify', '--json', '--ports', String(port), '--protocols', protocol, '--namespace', 'x', 'y', 'z'], { reject: false });
  const v: Verify = JSON.parse(r.stdout);
  const names = [...new Set(v.results.map((x) => x.from))].sort();
  const rows = names.map((from) => names.map((to) => (v.results.find((x) => x.from === from && x.to === to)!.connected ? '.' : 'X')).join(''));
  return { matrix: rows.join('\n'), mismatches: v.mismatches };
}

/** Applies a policy set and waits until the kernel shows the expected matrix (or gives up). */
export async function expectKernelMatrix(t: any, name: string, port: number, protocol: 'tcp' | 'udp', want: string): Promise<void> {
  let got = { matrix: '', mismatches: -1 };
  await waitFor(async () => {
    got = await verifyMatrix(name, port, protocol);
    return got.matrix === want && got.mismatches === 0;
  }, 20_000, 500);
  t.is(got.matrix, want, `${port}/${protocol}`);
  t.is(got.mismatches, 0, 'the kernel agrees with the model');
}

export const policy = (ns: string, pname: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${pname}, namespace: ${ns}}\nspec:\n${spec}`;

