// Lookups callers need on a flat layer list ("the inner TCP header", "every IPv4 header").

import type { Layer, LayerName } from './types.ts';

type LayerOf<N extends LayerName> = Extract<Layer, { layer: N }>;

/** The first layer with that name at that depth (any depth when omitted). */
export function findLayer<N extends LayerName>(layers: readonly Layer[], name: N, depth?: number): LayerOf<N> | undefined {
  return layers.find((l) => l.layer === name && (depth === undefined || l.depth === depth)) as LayerOf<N> | undefined;
}

/** Every layer with that name, outermost first. */
export function findLayers<N extends LayerName>(layers: readonly Layer[], name: N): LayerOf<N>[] {
  return layers.filter((l) => l.layer === name) as LayerOf<N>[];
}
