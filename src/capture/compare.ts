// Field-by-field comparison of our decoded layers with tshark's (tshark-map.ts): every field
// tshark reports must equal ours. Pure, used by the agreement test and the benchmark.

import type { Layer } from './decode/types.ts';
import type { TsharkLayer } from './tshark-map.ts';

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** Checks that every key of `theirs` (recursively, arrays element by element) matches `ours`. */
function subsetMismatches(ours: unknown, theirs: unknown, path: string, out: string[]): void {
  if (Array.isArray(theirs)) {
    if (!Array.isArray(ours) || ours.length !== theirs.length) {
      out.push(`${path}: ours ${describe(ours)}, tshark ${describe(theirs)}`);
      return;
    }
    theirs.forEach((t, i) => subsetMismatches(ours[i], t, `${path}[${i}]`, out));
  } else if (typeof theirs === 'object' && theirs !== null) {
    if (typeof ours !== 'object' || ours === null) {
      out.push(`${path}: ours ${describe(ours)}, tshark ${describe(theirs)}`);
      return;
    }
    for (const [k, t] of Object.entries(theirs)) subsetMismatches((ours as Record<string, unknown>)[k], t, `${path}.${k}`, out);
  } else if (ours !== theirs) {
    out.push(`${path}: ours ${describe(ours)}, tshark ${describe(theirs)}`);
  }
}

/** Differences between our layers and tshark's for one packet; empty when they agree. */
export function compareLayers(ours: readonly Layer[], theirs: readonly TsharkLayer[]): string[] {
  const out: string[] = [];
  const ourNames = ours.map((l) => `${l.layer}@${l.depth}`).join(' ');
  const theirNames = theirs.map((l) => `${l.layer}@${l.depth}`).join(' ');
  if (ourNames !== theirNames) out.push(`layers: ours [${ourNames}], tshark [${theirNames}]`);
  const n = Math.min(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    const o = ours[i]!;
    const t = theirs[i]!;
    if (o.layer !== t.layer || o.depth !== t.depth) break;
    const { layer: _layer, depth: _depth, ...fields } = t;
    subsetMismatches(o, fields, `${o.layer}@${o.depth}`, out);
  }
  return out;
}
