// How pod traffic crosses between nodes. A backend (flannel's word) turns the set of peer nodes into
// kernel state on this node: host-gw programs one route per peer; the VXLAN overlay plugs in here
// with its route, neighbour and FDB entry per peer.
import type { Cmd } from '../../driver/command.ts';

export interface PeerNode {
  name: string;
  /** The peer's underlay address. */
  ip: string;
  podCIDR: string;
  /** Whatever the peer published through its Node object's annotations (e.g. a VTEP MAC). */
  annotations: Record<string, string>;
}

export interface RouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
}

export interface NeighEntry {
  dst: string;
  lladdr?: string;
  dev: string;
}

export interface FdbEntry {
  mac: string;
  dst?: string;
  dev: string;
}

/** What a backend needs to know of the node's kernel to change only what differs. */
export interface KernelState {
  routes: RouteEntry[];
  neighbours: NeighEntry[];
  fdb: FdbEntry[];
}

export interface Backend {
  readonly name: string;
  /** The MTU pods get: the underlay's, less any encapsulation. */
  readonly podMTU: number;
  /** Commands that prepare this node once (a VXLAN device, ...); empty for host-gw. */
  setupCommands(): Cmd[];
  /** Annotations this node publishes on its Node object for its peers (needs setupCommands done). */
  annotations(): Promise<Record<string, string>>;
  /** The read-only commands whose output `syncCommands` needs; the daemon runs them. */
  stateCommands(): Cmd[];
  /** The commands that bring this node's routes (and neighbours, FDB) in line with its peers. */
  syncCommands(peers: PeerNode[], current: KernelState): Cmd[];
}
