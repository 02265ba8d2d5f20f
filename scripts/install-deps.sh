#!/bin/sh
# Install the Debian 12 packages that building, testing and linting ipredir need.
# Quiet when everything is there; otherwise one `apt-get update` and one install.
set -eu

PACKAGES="gcc make pkg-config libnftnl-dev libmnl-dev libpcap-dev
libbpf-dev bpftool
iproute2 nftables iputils-ping iperf3 python3 procps tcpdump util-linux curl
libnetfilter-queue-dev iptables gnuplot-nox clang libclang-rt-14-dev valgrind
dpkg-dev debhelper man-db groff-base bash-completion systemd shellcheck mypy prometheus tshark
wireshark-common"

is_installed() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=""
for pkg in $PACKAGES; do
	is_installed "$pkg" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (sudo make deps) or install them with apt-get" >&2
	exit 1
fi

echo "install-deps: installing$missing"
# wireshark-common asks whether non-root users may capture: no question, and no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get -q update
# shellcheck disable=SC2086 # the package list is meant to split into words
DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends $missing
# prometheus is here for promtool: its server must not stay running (nor start at boot).
case " $missing " in
*" prometheus "*)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now prometheus.service >/dev/null 2>&1 || true
	else
		invoke-rc.d prometheus stop >/dev/null 2>&1 || true
		update-rc.d prometheus disable >/dev/null 2>&1 || true
	fi
	;;
esac
