/**
 * Largest CONNECT request head read (request line and headers). Go sends about 30 bytes; 4 KiB
 * leaves room for proxies' headers and bounds what a peer can make the server hold.
 */
const maxConnectHeadBytes = 4096;

/** How a CONNECT request starts. */
export const connectPrefix = new TextEncoder().encode("CONNECT ");

/**
 * Reads a `CONNECT <target> HTTP/1.x` head, as Go's `rpc.DialHTTP` sends it (origin-form target,
 * which node's HTTP parser refuses). Returns the target and the bytes after the head, `undefined`
 * while the head is incomplete, or an error message.
 */
export function parseConnect(bytes: Uint8Array): { target: string; rest: Uint8Array } | undefined | string {
  let end = -1;
  let skip = 0;
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      end = i;
      skip = 2;
      break;
    }
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) {
      end = i;
      skip = 3;
      break;
    }
  }
  if (end < 0)
    return bytes.length > maxConnectHeadBytes ? `CONNECT head exceeds ${maxConnectHeadBytes} bytes` : undefined;
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, end));
  const match = /^CONNECT (\S+) HTTP\/1\.[01]\r?$/m.exec(head.split("\n", 1)[0] ?? "");
  if (match === null) return "malformed CONNECT request line";
  return { target: match[1] as string, rest: bytes.subarray(end + skip) };
}
