import type { Fetch } from "../protocol/protocol.js";
import type { ClientTlsOptions } from "../protocol/tls.js";
import { tlsMaterial } from "./tls.js";

/**
 * A `fetch` that trusts the client's own CAs and presents its certificate (Node's global fetch
 * takes neither): undici's, with an agent of those TLS settings. undici is loaded at the first
 * call, so clients without `tls` never load it.
 */
export function fetchWithTls(tls: ClientTlsOptions): Fetch {
  let ready: Promise<Fetch> | undefined;
  const load = async (): Promise<Fetch> => {
    const undici = await import("undici");
    const agent = new undici.Agent({
      connect: {
        ca: tlsMaterial(tls.ca),
        cert: tlsMaterial(tls.cert),
        key: tlsMaterial(tls.key),
        servername: tls.servername,
        minVersion: tls.minVersion ?? "TLSv1.2",
      },
    });
    return ((input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]) =>
      undici.fetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as Fetch;
  };
  return (input, init) => {
    ready ??= load();
    return ready.then((f) => f(input, init));
  };
}
