import type { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { PeerCertificate, PeerTls } from "../core/interceptor.js";

/** What a TLS socket tells of its session and of the peer's certificate. */
export function peerTlsOf(socket: TLSSocket): PeerTls {
  const cipher = socket.getCipher();
  const x509 = socket.getPeerX509Certificate();
  const alpn = socket.alpnProtocol;
  return {
    protocol: socket.getProtocol() ?? "unknown",
    cipher: cipher.standardName ?? cipher.name,
    alpn: typeof alpn === "string" ? alpn : undefined,
    authorized: socket.authorized,
    certificate: x509 === undefined ? undefined : certificateOf(x509),
  };
}

function certificateOf(x509: X509Certificate): PeerCertificate {
  const fields = (dn: string) => dn.split("\n").filter((l) => l.length > 0);
  const cn = fields(x509.subject).find((l) => l.startsWith("CN="));
  return {
    subject: fields(x509.subject).join(", "),
    commonName: cn?.slice(3),
    subjectAltNames: x509.subjectAltName === undefined ? [] : x509.subjectAltName.split(/,\s*/),
    issuer: fields(x509.issuer).join(", "),
    serialNumber: x509.serialNumber,
    fingerprint256: x509.fingerprint256,
    validFrom: Date.parse(x509.validFrom),
    validTo: Date.parse(x509.validTo),
  };
}
