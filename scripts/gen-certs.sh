#!/usr/bin/env bash
# Makes a test CA and the certificates mutual TLS needs (proto/security.h), with openssl:
#
#   scripts/gen-certs.sh --out certs --config examples/cluster.yaml
#   scripts/gen-certs.sh --out certs 127.0.0.1:50051 127.0.0.1:50052 127.0.0.1:50053
#
# Writes into the --out directory (default: certs):
#   ca.pem, ca.key                       the cluster CA (reused when already there)
#   node-<ip>-<port>.pem, .key           one per node: CN node:<ip>:<port>, SANs
#                                        DNS:<ip-with-dashes>-<port>.node.tokenstore, IP:<ip>
#   client.pem, client.key               CN client:<--client name, default cli>
#   admin.pem, admin.key                 CN admin:<--admin name, default operator>
# Nodes come from the arguments and from every ip:port in --config. Keys are EC P-256, not
# encrypted (mode 600). For tests and demos: a production CA keeps its key elsewhere.
set -euo pipefail

out=certs
config=
days=365
client_name=cli
admin_name=operator
nodes=()
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --client) client_name=$2; shift 2 ;;
    --admin) admin_name=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "gen-certs.sh: unknown option $1" >&2; usage 2 >&2 ;;
    *) nodes+=("$1"); shift ;;
  esac
done
command -v openssl >/dev/null || { echo "gen-certs.sh: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
if [[ -n $config ]]; then
  [[ -r $config ]] || { echo "gen-certs.sh: --config $config: cannot read" >&2; exit 2; }
  mapfile -t -O "${#nodes[@]}" nodes < <(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' "$config" | sort -u)
fi

mkdir -p "$out"
umask 077
ca_key=$out/ca.key ca_pem=$out/ca.pem
if [[ ! -s $ca_pem || ! -s $ca_key ]]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca_key" 2>/dev/null
  openssl req -x509 -new -key "$ca_key" -days "$days" -subj "/CN=tokenstore test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$ca_pem"
  echo "gen-certs.sh: new CA $ca_pem"
fi

# issue NAME CN SAN: NAME.key and NAME.pem signed by the CA.
issue() {
  local name=$1 cn=$2 san=$3 ext
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/$name.key" 2>/dev/null
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -key "$out/$name.key" -subj "/CN=$cn" 2>/dev/null |
    openssl x509 -req -CA "$ca_pem" -CAkey "$ca_key" -CAcreateserial -days "$days" \
      -extfile "$ext" -out "$out/$name.pem" 2>/dev/null
  rm -f "$ext"
  echo "gen-certs.sh: $out/$name.pem ($cn)"
}

for node in "${nodes[@]}"; do
  [[ $node =~ ^(.+):([0-9]+)$ ]] || { echo "gen-certs.sh: $node is not <ip>:<port>" >&2; exit 2; }
  ip=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
  ip=${ip#[}; ip=${ip%]}
  dashed=$(tr '.:' '--' <<<"$ip")-$port
  issue "node-$dashed" "node:$node" "DNS:$dashed.node.tokenstore,IP:$ip"
done
issue client "client:$client_name" ""
issue admin "admin:$admin_name" ""
rm -f "$out/ca.srl"
