// Pure: the answers of cluster DNS, as the Kubernetes DNS specification lays them out (schema 1.1.0):
//   <svc>.<ns>.svc.cluster.local            A: the ClusterIP; headless: the ready endpoints' IPs
//   <host>.<svc>.<ns>.svc.cluster.local     A: a headless endpoint with a hostname
//   _<port>._<proto>.<svc>.<ns>.svc...      SRV for each named port (ClusterIP: one, to the service
//                                           name; headless: one per ready endpoint)
//   <svc>.<ns>.svc.cluster.local            CNAME for an ExternalName service
//   <a-b-c-d>.<ns>.pod.cluster.local        A: the pod with that IP in that namespace ("pods verified")
//   d.c.b.a.in-addr.arpa                    PTR: a ClusterIP, a headless endpoint, or a pod
//   dns-version.cluster.local               TXT "1.1.0"
// A name that exists without records of the asked type is NODATA (NOERROR, no answer, the SOA in the
// authority section); a name that does not exist in the zone is NXDOMAIN, also with the SOA.
export const ZONE = 'cluster.local';
export const TTL = 30; // CoreDNS's kubernetes plugin default

export interface ServiceView {
  namespace: string;
  name: string;
  type: string;
  clusterIP?: string;
  externalName?: string;
  ports: { name?: string; port: number; protocol: string }[];
  /** Ready endpoint addresses (for headless services and SRV). */
  endpoints: { ip: string; hostname?: string; ports: { name?: string; port: number; protocol: string }[] }[];
}

export interface ClusterView {
  services: ServiceView[];
  pods: { namespace: string; ip: string }[];
  namespaces: string[];
}

export type RR =
  | { type: 'A'; name: string; ttl: number; data: string }
  | { type: 'CNAME' | 'PTR'; name: string; ttl: number; data: string }
  | { type: 'TXT'; name: string; ttl: number; data: string[] }
  | { type: 'SRV'; name: string; ttl: number; data: { priority: number; weight: number; port: number; target: string } }
  | { type: 'SOA'; name: string; ttl: number; data: { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number } };

export interface Answer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: RR[];
  additionals: RR[];
  authorities: RR[];
}

export const SOA: RR = {
  type: 'SOA',
  name: ZONE,
  ttl: TTL,
  data: { mname: `ns.dns.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: TTL },
};

const dashed = (ip: string) => ip.replace(/\./g, '-');
const undashed = (label: string) => (/^\d{1,3}(-\d{1,3}){3}$/.test(label) ? label.replace(/-/g, '.') : undefined);

/** Whether a query name is ours to answer (the cluster zone or a reverse name of the cluster's ranges). */
export function inZone(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  return n === ZONE || n.endsWith(`.${ZONE}`) || n.endsWith('.in-addr.arpa');
}

function found(answers: RR[], additionals: RR[] = []): Answer {
  return { rcode: 'NOERROR', answers, additionals, authorities: [] };
}
const nodata = (): Answer => ({ rcode: 'NOERROR', answers: [], additionals: [], authorities: [SOA] });
const nxdomain = (): Answer => ({ rcode: 'NXDOMAIN', answers: [], additionals: [], authorities: [SOA] });

export function resolve(qname: string, qtype: string, view: ClusterView): Answer {
  const name = qname.toLowerCase().replace(/\.$/, '');
  const rr = (type: RR['type'], data: unknown, owner = name): RR => ({ type, name: owner, ttl: TTL, data }) as RR;

  if (name.endsWith('.in-addr.arpa')) return reverse(name, qtype, view);
  if (name === `dns-version.${ZONE}`) return qtype === 'TXT' || qtype === 'ANY' ? found([rr('TXT', ['1.1.0'])]) : nodata();
  if (name === ZONE) return qtype === 'SOA' ? found([SOA]) : nodata();
  const labels = name.slice(0, -(ZONE.length + 1)).split('.');
  // labels are right-to-left meaningful: [..., ns, 'svc'] or [..., ns, 'pod']
  const kind = labels[labels.length - 1];
  if (kind === 'svc') {
    if (labels.length === 1) return nodata(); // svc.cluster.local
    const ns = labels[labels.length - 2]!;
    if (labels.length === 2) return view.namespaces.includes(ns) ? nodata() : nxdomain();
    const svcName = labels[labels.length - 3]!;
    const svc = view.services.find((s) => s.namespace === ns && s.name === svcName);
    if (!svc) return nxdomain();
    const fqdn = `${svcName}.${ns}.svc.${ZONE}`;
    const rest = labels.slice(0, -3);
    const headless = !svc.clusterIP || svc.clusterIP === 'None';
    if (rest.length === 0) {
      if (svc.type === 'ExternalName') return found([rr('CNAME', svc.externalName!.replace(/\.$/, ''))]);
      if (qtype !== 'A' && qtype !== 'ANY') return nodata();
      if (!headless) return found([rr('A', svc.clusterIP!)]);
      const ips = [...new Set(svc.endpoints.map((e) => e.ip))];
      return ips.length ? found(ips.map((ip) => rr('A', ip))) : nodata();
    }
    if (rest.length === 2 && rest[0]!.startsWith('_') && rest[1]!.startsWith('_')) {
      const portName = rest[0]!.slice(1);
      const proto = rest[1]!.slice(1).toUpperCase();
      const port = svc.ports.find((p) => p.name === portName && p.protocol === proto);
      if (!port) return nxdomain();
      if (qtype !== 'SRV' && qtype !== 'ANY') return nodata();
      if (!headless) return found([rr('SRV', { priority: 0, weight: 100, port: port.port, target: fqdn })], [rr('A', svc.clusterIP!, fqdn)]);
      const answers: RR[] = [];
      const additionals: RR[] = [];
      for (const e of svc.endpoints) {
        const ep = e.ports.find((p) => p.name === portName && p.protocol === proto);
        if (!ep) continue;
        const target = `${e.hostname ?? dashed(e.ip)}.${fqdn}`;
        answers.push(rr('SRV', { priority: 0, weight: 100, port: ep.port, target }));
        additionals.push(rr('A', e.ip, target));
      }
      return answers.length ? found(answers, additionals) : nodata();
    }
    if (rest.length === 1 && headless) {
      const label = rest[0]!;
      const ep = svc.endpoints.find((e) => e.hostname === label || dashed(e.ip) === label);
      if (!ep) return nxdomain();
      return qtype === 'A' || qtype === 'ANY' ? found([rr('A', ep.ip)]) : nodata();
    }
    return nxdomain();
  }
  if (kind === 'pod') {
    if (labels.length === 1) return nodata();
    const ns = labels[labels.length - 2]!;
    if (labels.length === 2) return view.namespaces.includes(ns) ? nodata() : nxdomain();
    if (labels.length !== 3) return nxdomain();
    const ip = undashed(labels[0]!);
    if (!ip || !view.pods.some((p) => p.namespace === ns && p.ip === ip)) return nxdomain();
    return qtype === 'A' || qtype === 'ANY' ? found([rr('A', ip)]) : nodata();
  }
  return nxdomain();
}

function reverse(name: string, qtype: string, view: ClusterView): Answer {
  const octets = name.slice(0, -'.in-addr.arpa'.length).split('.');
  if (octets.length !== 4) return nxdomain();
  const ip = octets.reverse().join('.');
  const ptr = (target: string): Answer => (qtype === 'PTR' || qtype === 'ANY' ? found([{ type: 'PTR', name, ttl: TTL, data: target }]) : nodata());
  const svc = view.services.find((s) => s.clusterIP === ip);
  if (svc) return ptr(`${svc.name}.${svc.namespace}.svc.${ZONE}`);
  for (const s of view.services) {
    if (s.clusterIP && s.clusterIP !== 'None') continue;
    const ep = s.endpoints.find((e) => e.ip === ip);
    if (ep) return ptr(`${ep.hostname ?? dashed(ip)}.${s.name}.${s.namespace}.svc.${ZONE}`);
  }
  const pod = view.pods.find((p) => p.ip === ip);
  if (pod) return ptr(`${dashed(ip)}.${pod.namespace}.pod.${ZONE}`);
  return nxdomain();
}
