#!/usr/bin/env bash
# The main job: install what is missing, bring a 2-node cluster up, run a few pods and show a
# request crossing from node1 to node2, with the server reporting the client's real pod IP.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
name=${KUBELAB_NAME:-lab}
./kubelab --name "$name" up --nodes 2
./kubelab --name "$name" apply -f examples/demo.yaml
echo "waiting for the pods to be ready..."
for _ in $(seq 1 100); do
  ready=$(./kubelab --name "$name" get pods -o json | node -e 'const l=JSON.parse(require("fs").readFileSync(0));console.log(l.items.filter(p=>(p.status?.conditions||[]).some(c=>c.type==="Ready"&&c.status==="True")).length)')
  [ "$ready" = 3 ] && break
  sleep 0.2
done
./kubelab --name "$name" get pods -o wide
web2=$(./kubelab --name "$name" get pods web-2 -o json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).status.podIP)')
client=$(./kubelab --name "$name" get pods client -o json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).status.podIP)')
echo
echo "\$ ./kubelab exec client -- wget -qO- http://$web2:8080/    # client ($client, node1) -> web-2 ($web2, node2)"
./kubelab --name "$name" exec client -- wget -qO- "http://$web2:8080/"
echo
echo "web-2 saw the client's own pod IP: pod to pod crosses nodes without NAT, wrapped in VXLAN between the nodes (flannel.1)."
echo "Explore: ./kubelab explain pod/client   ./kubelab explain node/node1   ./kubelab exec client -- ip route"
echo "Remove everything: ./kubelab down"
