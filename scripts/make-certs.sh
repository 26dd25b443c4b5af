#!/usr/bin/env bash
# Makes a throw-away CA and certificates for trying TLS and mTLS on loopback:
#   ca.pem                          the CA clients and servers trust
#   server.pem server-key.pem       for localhost, 127.0.0.1 and ::1
#   client.pem client-key.pem       a client (CN=client, URI:spiffe://farcall.test/client)
#   expired.pem expired-key.pem     a server certificate that expired in 2020
#   other-name.pem other-name-key.pem  a server certificate for another name (elsewhere.test)
#   rogue-ca.pem rogue-client.pem rogue-client-key.pem  a client of another CA
# Usage: scripts/make-certs.sh DIR   (needs openssl)
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name subject
  key "$1-key.pem"
  openssl req -x509 -new -key "$1-key.pem" -subj "$2" -days 3650 -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# leaf name subject san extendedKeyUsage issuer [startdate enddate]
leaf() {
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -subj "$2" -out "$1.csr"
  cat > "$1.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$4
subjectAltName=$3
EXT
  if [ $# -gt 5 ]; then
    # A fixed validity period (for the expired certificate) needs `openssl ca`.
    mkdir -p "$1.db"
    : > "$1.db/index.txt"
    cat > "$1.cnf" <<CNF
[ca]
default_ca=this
[this]
database=$1.db/index.txt
new_certs_dir=$1.db
certificate=$5.pem
private_key=$5-key.pem
serial=$1.db/serial
default_md=sha256
policy=any
copy_extensions=none
[any]
commonName=supplied
CNF
    openssl rand -hex 8 > "$1.db/serial"
    openssl ca -batch -config "$1.cnf" -in "$1.csr" -out "$1.pem" -notext \
      -startdate "$6" -enddate "$7" -extfile "$1.ext" 2>/dev/null
    rm -rf "$1.db" "$1.cnf"
  else
    openssl x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5-key.pem" -CAcreateserial \
      -days 825 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  fi
  rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=farcall test CA"
leaf server "/CN=localhost" "DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth ca
leaf client "/CN=client/O=farcall test" "URI:spiffe://farcall.test/client" clientAuth ca
leaf expired "/CN=localhost" "DNS:localhost,IP:127.0.0.1" serverAuth ca 20200101000000Z 20200201000000Z
leaf other-name "/CN=elsewhere.test" "DNS:elsewhere.test" serverAuth ca
ca rogue-ca "/CN=another CA"
leaf rogue-client "/CN=rogue" "URI:spiffe://farcall.test/rogue" clientAuth rogue-ca
rm -f ./*.srl
