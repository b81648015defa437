// src/proxy owns the service proxy's pure core: from Services, their endpoints and the node's facts
// it computes the netfilter ruleset kube-proxy would program, in iptables mode (iptables-restore
// text) and nftables mode (nft -f transactions), full or partial. It must not run commands or read
// the kernel: the node daemon's driver applies the text and feeds back nothing but the returned state.
export type { Endpoint, NodeFacts, Protocol, ProxyInput, ProxyOptions, Service, ServicePort, ServiceType, TrafficPolicy } from './types.ts';
export { buildModel, ProxyInputError, type ProxyModel, type ServicePortModel } from './model.ts';
export {
  iptablesEndpointChain,
  iptablesServiceChains,
  nftEndpointBase,
  nftServiceBase,
  portProtoHash,
  servicePortName,
} from './names.ts';
export {
  iptablesFullSync,
  iptablesJumpRules,
  iptablesSync,
  jumpRuleArgv,
  type IptablesState,
  type IptablesSync,
  type JumpRule,
} from './iptables.ts';
export { NFT_TABLE, nftablesCleanupScript, nftablesFullSync, nftablesSync, type NftState, type NftSync } from './nftables.ts';
