#!/usr/bin/env bash
# Builds (once, cached) the qemu guest kubelab uses to prove what this machine's kernel cannot run:
# Debian's own kernel and an initramfs with busybox, iproute2, ipvsadm and the IPVS, conntrack, veth
# and dummy modules. Everything comes from Debian's repositories with `apt-get download` (nothing is
# installed on the host); the result lives in /var/cache/kubelab/vm.
#   out: /var/cache/kubelab/vm/vmlinuz  /var/cache/kubelab/vm/initrd.base/ (a tree; guest.ts packs it with the test)
set -euo pipefail
CACHE=${KUBELAB_VM_CACHE:-/var/cache/kubelab/vm}
mkdir -p "$CACHE"
cd "$CACHE"
if [ -f ready ]; then echo "$CACHE"; exit 0; fi

kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$kpkg" ] || { echo "build-guest: cannot find Debian's kernel package (apt-get update first?)" >&2; exit 1; }
ls ${kpkg}_*.deb >/dev/null 2>&1 || apt-get download "$kpkg" >/dev/null 2>&1
ls ipvsadm_*.deb >/dev/null 2>&1 || apt-get download ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0 >/dev/null 2>&1
rm -rf pkg root && mkdir -p pkg root
for d in *.deb; do dpkg-deb -x "$d" pkg; done
kver=${kpkg#linux-image-}
cp pkg/boot/vmlinuz-"$kver" vmlinuz

# The initramfs tree: busybox for the shell and tools, the host's iproute2 (netns support), ipvsadm.
# (busybox sh runs its own applets first, so scripts call /sbin/ip for iproute2.)
mkdir -p root/{bin,sbin,lib,lib64,proc,sys,dev,tmp,run/netns,etc,modules,www}
cp /bin/busybox root/bin/busybox
for app in $(/bin/busybox --list); do [ -e root/bin/"$app" ] || ln -s busybox root/bin/"$app"; done
rm -f root/bin/ip
cp /usr/sbin/ip root/sbin/ip
cp pkg/sbin/ipvsadm root/sbin/ipvsadm 2>/dev/null || cp pkg/usr/sbin/ipvsadm root/sbin/ipvsadm
# Shared libraries of ip and ipvsadm: the host's for ip, the downloaded ones for ipvsadm.
copy_libs() {
  LD_LIBRARY_PATH="$CACHE/pkg/lib/x86_64-linux-gnu:$CACHE/pkg/usr/lib/x86_64-linux-gnu" ldd "$1" | awk '/=>/{print $3} /ld-linux/{print $1}' | while read -r lib; do
    [ -f "$lib" ] || continue
    case "$lib" in
      "$CACHE"/*) mkdir -p root/lib/x86_64-linux-gnu && cp -L "$lib" root/lib/x86_64-linux-gnu/ ;;
      *) mkdir -p root"$(dirname "$lib")" && cp -L "$lib" root"$lib" ;;
    esac
  done
}
copy_libs root/sbin/ip
copy_libs root/sbin/ipvsadm
mkdir -p root/lib64 && cp -L /lib64/ld-linux-x86-64.so.2 root/lib64/ 2>/dev/null || true
# Modules in load order (no depmod in the guest).
mods=(crypto/crc32c_generic lib/libcrc32c net/ipv4/netfilter/nf_defrag_ipv4 net/ipv6/netfilter/nf_defrag_ipv6 net/netfilter/nf_conntrack net/netfilter/ipvs/ip_vs net/netfilter/ipvs/ip_vs_rr drivers/net/veth drivers/net/dummy)
: > root/modules/order
for m in "${mods[@]}"; do
  src=$(ls pkg/lib/modules/"$kver"/kernel/"$m".ko* | head -1)
  base=$(basename "$src")
  case "$base" in
    *.xz) xz -dc "$src" > root/modules/"${base%.xz}"; base=${base%.xz} ;;
    *) cp "$src" root/modules/"$base" ;;
  esac
  echo "$base" >> root/modules/order
done
echo '<html>real server</html>' > root/www/index.html
cat > root/init <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
/bin/busybox mount -t tmpfs tmp /run
mkdir -p /run/netns
for m in $(cat /modules/order); do insmod /modules/$m || echo "insmod $m failed"; done
echo KUBELAB-GUEST-BEGIN
sh /test.sh
echo "KUBELAB-GUEST-EXIT $?"
echo KUBELAB-GUEST-END
poweroff -f
INIT
chmod +x root/init
rm -rf initrd.base && mv root initrd.base
rm -rf pkg
touch ready
echo "$CACHE"
