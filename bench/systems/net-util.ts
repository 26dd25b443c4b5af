// Listening and connecting on loopback for the systems that speak over plain node:net sockets
// (and over node:tls sockets, for raw-tls).
import net from "node:net";
import tls from "node:tls";
import type { BenchServer } from "../system.js";

/** Listens on a free loopback port; resolves with its `host:port` and a close function. */
export function listenLoopback(server: net.Server): Promise<BenchServer> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        address: `127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** Corks a socket at the first write of a tick and uncorks it on process.nextTick: one writev per tick. */
export class TickCork {
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(private readonly socket: net.Socket) {}

  /** Call before each write. */
  cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.uncork);
  }
}

/** Ends `socket` and resolves once it has closed. */
export function endSocket(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    socket.end();
  });
}

/** Connects to `host:port` with Nagle off; resolves with `wrap(socket)` once connected. */
export function connectLoopback<T>(address: string, wrap: (socket: net.Socket) => T): Promise<T> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port), noDelay: true }, () => {
      socket.off("error", reject);
      resolve(wrap(socket));
    });
    socket.once("error", reject);
  });
}

/**
 * Connects to `host:port` over TLS, trusting `ca`, with Nagle off; resolves with `wrap(socket)`
 * once the handshake is done. The server's certificate is checked against the address's IP.
 */
export function connectTlsLoopback<T>(address: string, ca: string, wrap: (socket: tls.TLSSocket) => T): Promise<T> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(port), ca }, () => {
      socket.off("error", reject);
      socket.setNoDelay(true);
      resolve(wrap(socket));
    });
    socket.once("error", reject);
  });
}
