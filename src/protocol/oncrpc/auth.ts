// Credentials of a call (RFC 5531 §8.2, AUTH_SYS in appendix A): read on the server, written by
// the client.

import { XdrReader } from "../../codec/xdr/decode.js";
import type { XdrWriter } from "../../codec/xdr/encode.js";
import type { Credentials } from "../../core/interceptor.js";
import { authSys } from "./constants.js";

/** AUTH_SYS's body: `stamp`, `machinename<255>`, `uid`, `gid`, `gids<16>`; undefined when malformed. */
export function readAuthSys(body: Uint8Array): Credentials | undefined {
  try {
    const r = new XdrReader(body);
    const stamp = r.u32();
    const machine = r.variable(255, "machinename");
    const uid = r.u32();
    const gid = r.u32();
    const n = r.u32();
    if (n > 16) return undefined;
    const gids: number[] = [];
    for (let i = 0; i < n; i++) gids.push(r.u32());
    if (r.left !== 0) return undefined;
    let machineName = "";
    for (const b of machine) machineName += String.fromCharCode(b);
    return Object.freeze({ flavor: "auth_sys", stamp, machineName, uid, gid, gids: Object.freeze(gids) });
  } catch {
    return undefined;
  }
}

/** Writes a call's credential: AUTH_SYS for `auth_sys` credentials, else AUTH_NONE. */
export function writeCredential(w: XdrWriter, cred: Credentials | undefined): void {
  if (cred === undefined) {
    w.u32(0);
    w.u32(0);
    return;
  }
  w.u32(authSys);
  const at = w.pos;
  w.u32(0);
  w.u32(cred.stamp >>> 0);
  const name = new Uint8Array([...cred.machineName].map((c) => c.charCodeAt(0) & 0xff)).subarray(0, 255);
  w.u32(name.length);
  w.bytes(name);
  w.u32(cred.uid >>> 0);
  w.u32(cred.gid >>> 0);
  const gids = cred.gids.slice(0, 16);
  w.u32(gids.length);
  for (const g of gids) w.u32(g >>> 0);
  w.setU32(at, w.pos - at - 4);
}
