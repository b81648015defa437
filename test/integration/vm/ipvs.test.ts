// kube-proxy's IPVS mode, proven in a qemu guest that boots Debian's own kernel (ours has no IP_VS):
// the configuration kubelab generates (src/proxy/ipvs.ts) is applied with iproute2 and ipvsadm inside
// the guest, and a client in one network namespace reaches a real server in another through the
// virtual server. Nothing leaves the guest.
import test from 'ava';
import { ipvsAvailable, ipvsDeviceBatch, ipvsRestore, IPVS_MISSING } from '../../../src/proxy/ipvs.ts';
import type { ProxyInput } from '../../../src/proxy/types.ts';
import { guestAvailable, runInGuest } from '../../../src/vm/guest.ts';
import { isRoot } from '../helpers.ts';

const INPUT: ProxyInput = {
  services: [{ namespace: 'default', name: 'web', type: 'ClusterIP', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
  endpoints: { 'default/web:http': [{ ip: '10.244.2.2', port: 80, ready: true }] },
  node: { name: 'guest', ips: ['10.244.2.1'], clusterCIDR: '10.244.0.0/16', masqueradeMark: '0x4000' },
};

test('this machine has no IPVS, and the error says what is missing and what works', (t) => {
  if (ipvsAvailable()) return void t.pass('this kernel has IPVS');
  t.regex(IPVS_MISSING, /CONFIG_IP_VS.*--proxy-mode iptables or --proxy-mode nftables/);
});

test('a connection through an IPVS virtual server kubelab generated, in a guest running Debian\'s kernel', async (t) => {
  const can = guestAvailable();
  if (!isRoot() || !can.ok) {
    if (process.env.CI === 'true') return void t.fail(`needs root and qemu in CI: ${can.why ?? 'not root'}`);
    t.log(`skipped: ${can.why ?? 'needs root'}`);
    return void t.pass();
  }
  const script = `
set -e
ip=/sbin/ip
$ip netns add client
$ip netns add server
$ip link add c0 type veth peer name eth0 netns client
$ip link add s0 type veth peer name eth0 netns server
$ip addr add 10.244.1.1/24 dev c0 && $ip link set c0 up
$ip addr add 10.244.2.1/24 dev s0 && $ip link set s0 up
$ip -n client addr add 10.244.1.2/24 dev eth0 && $ip -n client link set eth0 up && $ip -n client link set lo up && $ip -n client route add default via 10.244.1.1
$ip -n server addr add 10.244.2.2/24 dev eth0 && $ip -n server link set eth0 up && $ip -n server link set lo up && $ip -n server route add default via 10.244.2.1
echo 1 > /proc/sys/net/ipv4/ip_forward
$ip -batch - <<'KUBELAB_EOF'
${ipvsDeviceBatch(INPUT)}KUBELAB_EOF
/sbin/ipvsadm -R <<'KUBELAB_EOF'
${ipvsRestore(INPUT)}KUBELAB_EOF
$ip netns exec server busybox httpd -p 80 -h /www
sleep 1
echo "ANSWER: $($ip netns exec client busybox wget -qO- http://10.96.0.20/)"
echo CONNECTIONS
/sbin/ipvsadm -Lnc
# The totals are folded in by the kernel's estimator every 2 s.
sleep 3
/sbin/ipvsadm -Ln --stats
$ip -br addr show kube-ipvs0
`;
  const r = await runInGuest(script, { timeoutMs: 180_000 });
  t.log(`guest booted and ran in ${r.seconds.toFixed(1)} s`);
  t.is(r.exitCode, 0, r.console.slice(-2000));
  t.regex(r.output, /ANSWER: <html>real server<\/html>/);
  t.regex(r.output, /TCP\s+\S+\s+\S+\s+10\.244\.1\.2:\d+\s+10\.96\.0\.20:80\s+10\.244\.2\.2:80/, 'IPVS holds the connection: client -> virtual server -> real server');
  t.regex(r.output, /TCP\s+10\.96\.0\.20:80\s+1\s+/, 'the virtual server counted one connection');
  t.regex(r.output, /->\s+10\.244\.2\.2:80\s+1\s+/, 'the real server counted one connection');
  t.regex(r.output, /kube-ipvs0\s+\S+\s+10\.96\.0\.20\/32/);
});
