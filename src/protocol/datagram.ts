import type { Peer } from "../core/interceptor.js";

/**
 * A datagram socket a server listens on (UDP): whole messages from many peers, each answered to
 * the peer it came from. The counterpart of `ByteStream` for protocols that serve datagrams (ONC
 * RPC over UDP). A client's socket to one server is a `MessagePipe` (`ClientPlatform.dialDatagram`).
 */
export interface DatagramSocket {
  /** The largest datagram it sends; larger replies must be refused by the protocol. */
  readonly maxDatagramBytes: number;
  /** Starts delivery (once). */
  attach(handler: DatagramHandler): void;
  /** Sends one datagram to `to` (a peer a datagram came from). */
  send(message: Uint8Array, to: Peer): void;
}

export interface DatagramHandler {
  /** One datagram and who sent it; the bytes stay valid. */
  onDatagram(message: Uint8Array, from: Peer): void;
  /** The socket is closed; called once. */
  onClose(): void;
}
