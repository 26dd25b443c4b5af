// UDP sockets as farcall's datagram carriers: a server's socket (`DatagramSocket`, many peers) and
// a client's socket connected to one server (`MessagePipe`).
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import type { DatagramHandler, DatagramSocket } from "../protocol/datagram.js";
import type { MessageHandler, MessagePipe } from "../protocol/message-pipe.js";

/** The most a UDP datagram over IPv4 carries (65,535 less the IP and UDP headers). */
export const maxUdpPayload = 65_507;

/** A bound UDP socket serving many peers. */
export interface UdpListener extends DatagramSocket {
  readonly port: number;
  close(): Promise<void>;
}

/** Binds UDP on `host:port` (port 0 picks one). @throws the bind error (EADDRINUSE …) as it is. */
export function bindUdp(host: string, port: number): Promise<UdpListener> {
  const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, host, () => {
      socket.off("error", reject);
      // A send to a vanished peer reports ICMP errors here: nothing for the socket to do.
      socket.on("error", () => {});
      let handler: DatagramHandler | undefined;
      let closed = false;
      socket.on("message", (msg, info) => {
        handler?.onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), {
          transport: "udp",
          address: info.address,
          port: info.port,
        });
      });
      socket.on("close", () => {
        closed = true;
        handler?.onClose();
      });
      // A reply to a datagram from a sender that is gone, or after close() began: dropped.
      resolve({
        port: socket.address().port,
        maxDatagramBytes: maxUdpPayload,
        attach(h) {
          handler = h;
        },
        send(message, to) {
          if (!closed && to.port !== undefined) socket.send(message, to.port, to.address);
        },
        close: () =>
          new Promise<void>((done) => {
            if (closed) return done();
            closed = true;
            socket.close(() => done());
          }),
      });
    });
  });
}

/** A UDP socket connected to `host:port`, as a pipe of datagrams. */
export function dialUdp(host: string, port: number): Promise<MessagePipe> {
  const socket: Socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      socket.close();
      reject(new RpcError(Code.Unavailable, `udp ${host}:${port}: ${err.message}`, { cause: err, safeToRetry: true }));
    };
    socket.once("error", fail);
    socket.connect(port, host, () => {
      socket.off("error", fail);
      let handler: MessageHandler | undefined;
      let open = true;
      // ICMP port unreachable (nobody listening) arrives as ECONNREFUSED: the pipe closes.
      socket.on("error", () => pipe.terminate());
      socket.on("message", (msg) => handler?.onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.length)));
      socket.on("close", () => {
        open = false;
        handler?.onClose();
      });
      const pipe: MessagePipe = {
        peer: { transport: "udp", address: host, port },
        get open() {
          return open;
        },
        attach(h) {
          handler = h;
        },
        send(message) {
          if (open) socket.send(typeof message === "string" ? new TextEncoder().encode(message) : message);
        },
        close: () => pipe.terminate(),
        terminate() {
          if (!open) return;
          open = false;
          socket.close();
        },
      };
      resolve(pipe);
    });
  });
}
