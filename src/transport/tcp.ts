import { unlinkSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { formatAddress, parseAddress, type SocketAddress } from "./address.js";
import { SocketStream } from "./socket-stream.js";

/** A listening socket. */
export interface Listener {
  /** The address actually bound (with the real port when port 0 was asked for). */
  readonly address: string;
  /** Stops accepting connections; open connections are not touched. */
  close(): Promise<void>;
}

/**
 * Listens on a `tcp://` or `unix://` address and hands every accepted connection to `accept`.
 * A stale unix socket file (nobody listening) is replaced.
 * @throws the listen error (EADDRINUSE …) as it is.
 */
export async function listen(
  address: string,
  accept: (stream: SocketStream) => void,
  options: { writeStallTimeoutMs?: number } = {},
): Promise<Listener> {
  const target = parseAddress(address);
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
    accept(new SocketStream(socket, undefined, options.writeStallTimeoutMs)),
  );
  try {
    await bind(server, target);
  } catch (err) {
    if (target.kind !== "unix" || (err as NodeJS.ErrnoException).code !== "EADDRINUSE" || (await isLive(target.path))) {
      throw err;
    }
    unlinkSync(target.path);
    await bind(server, target);
  }
  const bound = server.address();
  const actual: SocketAddress =
    typeof bound === "object" && bound !== null ? { kind: "tcp", host: bound.address, port: bound.port } : target;
  return {
    address: formatAddress(actual),
    // net.Server removes a unix socket file itself when it closes.
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function bind(server: Server, target: SocketAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    const done = () => {
      server.off("error", onError);
      resolve();
    };
    if (target.kind === "unix") server.listen(target.path, done);
    else server.listen(target.port, target.host, done);
  });
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = netConnect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/** The buffer a connection opened with `reuseReadBuffer` reads into: Node's own read size. */
const readBufferBytes = 64 * 1024;

/**
 * Opens a connection. Fails with `unavailable` (marked safe to retry: nothing was sent) on any
 * connect error or after `timeoutMs`. With `reuseReadBuffer`, every read lands in one buffer of
 * the connection's instead of a fresh one, and the stream's chunks are valid only during `onData`
 * (see {@link SocketStream}).
 */
export function connect(address: string, timeoutMs: number, reuseReadBuffer = false): Promise<SocketStream> {
  let target: SocketAddress;
  try {
    target = parseAddress(address);
  } catch (err) {
    return Promise.reject(new RpcError(Code.InvalidArgument, (err as Error).message));
  }
  return new Promise((resolve, reject) => {
    let stream: SocketStream | undefined;
    const readBuffer = reuseReadBuffer ? Buffer.allocUnsafe(readBufferBytes) : undefined;
    const read =
      readBuffer === undefined
        ? {}
        : {
            onread: {
              buffer: readBuffer,
              callback: (n: number) => {
                (stream as SocketStream).deliver(n);
                return true;
              },
            },
          };
    const socket: Socket =
      target.kind === "unix"
        ? netConnect({ path: target.path, ...read })
        : netConnect({ host: target.host, port: target.port, noDelay: true, ...read });
    const fail = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(
        new RpcError(Code.Unavailable, `cannot connect to ${address}: ${err.message}`, {
          cause: err,
          safeToRetry: true,
        }),
      );
    };
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    const onConnect = () => {
      cleanup();
      stream = new SocketStream(socket, readBuffer);
      resolve(stream);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", fail);
    };
    socket.once("connect", onConnect);
    socket.once("error", fail);
  });
}
