#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# packaging/dspm-node against a fake dspm-admin and modprobe: what it runs for
# a node.conf, that it skips what is done already, and that a bad file is a
# usage error (exit 2).  Usage: dspm_node_test.sh BUILT-DSPM-NODE
set -eu
node=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
log=$tmp/calls

cat >"$tmp/admin" <<'FAKE'
#!/bin/sh
# Records its arguments; "info" answers from $FAKE_ATTACHED, "join" from $FAKE_JOIN.
echo "admin $*" >>"$FAKE_LOG"
case " $* " in
*" info "*) echo "{ \"attached\": ${FAKE_ATTACHED:-false} }" ;;
*" join "*)
	case ${FAKE_JOIN:-ok} in
	ok) echo 3 ;;
	joined) echo "dspm-admin: join: Transport endpoint is already connected" >&2; exit 1 ;;
	*) echo "dspm-admin: join: Connection refused" >&2; exit 1 ;;
	esac ;;
esac
FAKE
cat >"$tmp/modprobe" <<'FAKE'
#!/bin/sh
echo "modprobe $*" >>"$FAKE_LOG"
FAKE
chmod +x "$tmp/admin" "$tmp/modprobe"
export DSPM_ADMIN=$tmp/admin DSPM_MODPROBE=$tmp/modprobe DSPM_DEVICE=/dev/null FAKE_LOG=$log

check() { # NAME EXPECTED-RC EXPECTED-CALLS COMMAND...
	name=$1 want_rc=$2 want=$3
	shift 3
	: >"$log"
	rc=0
	"$@" >"$tmp/out" 2>&1 || rc=$?
	got=$(cat "$log")
	if [ "$rc" -eq "$want_rc" ] && [ "$got" = "$want" ]; then
		echo "ok - $name"
	else
		echo "not ok - $name (rc $rc, want $want_rc)"
		echo "# calls:"; sed 's/^/#   /' "$log"
		echo "# want:"; printf '%s\n' "$want" | sed 's/^/#   /'
		echo "# output:"; sed 's/^/#   /' "$tmp/out"
		fails=$((fails + 1))
	fi
}

cat >"$tmp/node.conf" <<'CONF'
# a node of a cluster
device = /dev/null
modules = rdma_rxe  rdma_ucm
dispatcher=10.0.0.1:7470
transport = rdma
key_file = /etc/dspm/my key
self = 10.0.0.2:7411
CONF
check "start: modules, attach, join" 0 "modprobe rdma_rxe
modprobe rdma_ucm
modprobe dspm
admin --device /dev/null info --json
admin --device /dev/null attach /dev/null
admin --device /dev/null join --dispatcher 10.0.0.1:7470 --transport rdma --key-file /etc/dspm/my key --self 10.0.0.2:7411" \
	"$node" start "$tmp/node.conf"

FAKE_ATTACHED=true FAKE_JOIN=joined check "start again: nothing to do" 0 "modprobe rdma_rxe
modprobe rdma_ucm
modprobe dspm
admin --device /dev/null info --json
admin --device /dev/null join --dispatcher 10.0.0.1:7470 --transport rdma --key-file /etc/dspm/my key --self 10.0.0.2:7411" \
	"$node" start "$tmp/node.conf"

FAKE_ATTACHED=true FAKE_JOIN=refused check "start: dispatcher away fails (the unit retries)" 1 "modprobe rdma_rxe
modprobe rdma_ucm
modprobe dspm
admin --device /dev/null info --json
admin --device /dev/null join --dispatcher 10.0.0.1:7470 --transport rdma --key-file /etc/dspm/my key --self 10.0.0.2:7411" \
	"$node" start "$tmp/node.conf"

FAKE_ATTACHED=true check "stop: leave, detach" 0 "admin --device /dev/null leave
admin --device /dev/null info --json
admin --device /dev/null detach" \
	"$node" stop "$tmp/node.conf"

printf 'device = /dev/null\n' >"$tmp/single.conf"
check "start: a node of its own, no join" 0 "modprobe dspm
admin --device /dev/null info --json
admin --device /dev/null attach /dev/null" \
	"$node" start "$tmp/single.conf"

printf 'device = /dev/null\ncolour = blue\n' >"$tmp/bad.conf"
check "unknown key: exit 2" 2 "" "$node" start "$tmp/bad.conf"
printf 'transport = udp\ndevice = /dev/null\n' >"$tmp/bad.conf"
check "bad transport: exit 2" 2 "" "$node" start "$tmp/bad.conf"
printf 'dispatcher = 10.0.0.1:7470\n' >"$tmp/bad.conf"
check "no device: exit 2" 2 "" "$node" start "$tmp/bad.conf"
printf 'device = $(touch %s/pwned)\n' "$tmp" >"$tmp/bad.conf"
check "values are not expanded" 0 "" "$node" check "$tmp/bad.conf"
[ ! -e "$tmp/pwned" ] || { echo "not ok - a value was run"; fails=$((fails + 1)); }
check "usage: exit 2" 2 "" "$node" restart "$tmp/node.conf"

[ "$fails" -eq 0 ] || { echo "dspm-node: $fails failed"; exit 1; }
echo "dspm-node: all passed"
