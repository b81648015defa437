import test from 'ava';
import { ipvsDeviceBatch, ipvsRestore } from '../../../src/proxy/ipvs.ts';
import { parseConsole, qemuArgs } from '../../../src/vm/guest.ts';

test('the script output and exit status are read between the guest markers', (t) => {
  const text = 'SeaBIOS...\r\n[ 1.0] boot\r\nKUBELAB-GUEST-BEGIN\r\nhello\r\nworld\r\nKUBELAB-GUEST-EXIT 3\r\nKUBELAB-GUEST-END\r\n[ 2.0] reboot';
  t.deepEqual(parseConsole(text), { output: 'hello\nworld\n', exitCode: 3 });
  t.deepEqual(parseConsole('Kernel panic'), { output: '', exitCode: undefined });
});

test('qemu runs without a network and without rebooting', (t) => {
  const args = qemuArgs('/k', '/i');
  t.true(args.includes('-no-reboot'));
  t.deepEqual(args.slice(args.indexOf('-net'), args.indexOf('-net') + 2), ['-net', 'none']);
});

test('IPVS: a virtual server per service port, round robin, masquerade, persistence for ClientIP affinity', (t) => {
  const input = {
    services: [
      { namespace: 'a', name: 'web', type: 'ClusterIP' as const, clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' as const }], sessionAffinity: 'ClientIP' as const, sessionAffinityTimeoutSeconds: 60 },
      { namespace: 'a', name: 'dns', type: 'ClusterIP' as const, clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' as const }] },
      { namespace: 'a', name: 'headless', type: 'ClusterIP' as const, clusterIP: 'None', ports: [{ name: '', port: 1, protocol: 'TCP' as const }] },
    ],
    endpoints: {
      'a/web:http': [{ ip: '10.244.1.2', port: 8080, ready: true }, { ip: '10.244.2.2', port: 8080, ready: false }],
      'a/dns:dns': [{ ip: '10.244.1.5', port: 53, ready: true }],
    },
    node: { name: 'n', ips: ['192.168.56.11'], clusterCIDR: '10.244.0.0/16', masqueradeMark: '0x4000' },
  };
  t.deepEqual(ipvsRestore(input).trim().split('\n'), ['-A -u 10.96.0.10:53 -s rr', '-a -u 10.96.0.10:53 -r 10.244.1.5:53 -m -w 1', '-A -t 10.96.0.20:80 -s rr -p 60', '-a -t 10.96.0.20:80 -r 10.244.1.2:8080 -m -w 1']);
  t.deepEqual(ipvsDeviceBatch(input).trim().split('\n'), ['link add kube-ipvs0 type dummy', 'link set kube-ipvs0 up', 'addr add 10.96.0.10/32 dev kube-ipvs0', 'addr add 10.96.0.20/32 dev kube-ipvs0']);
});
