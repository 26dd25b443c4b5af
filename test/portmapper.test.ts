/**
 * farcall's embedded port mapper on its own: versions 2, 3 and 4 over farcall's ONC RPC client,
 * SET and UNSET refused from other machines, and the forwarding procedures not served.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createPortmapper, maxPortmapEntries, PortmapTable } from "../src/discovery/portmapper.js";
import { Code, createClient, defineService, unary, xdr } from "../src/index.js";
import { Portmap2, Rpcbind4 } from "../src/protocol/oncrpc/rpcbind.js";
import { rejectsWith } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

test("SET, GETPORT, GETADDR, DUMP and UNSET across versions 2 and 4; the port mapper lists itself", async () => {
  const pm = await createPortmapper({ listen: ["tcp://127.0.0.1:0"] });
  cleanups.push(() => pm.close());
  const port = Number(pm.addresses[0]?.split(":").pop());
  const client = createClient(`oncrpc+tcp://127.0.0.1:${port}`);
  cleanups.push(() => client.close());
  const v2 = client.service(Portmap2);
  const v4 = client.service(Rpcbind4);
  assert.equal(await v2.PMAPPROC_GETPORT({ prog: 100000, vers: 2, prot: 6, port: 0 }), port);
  assert.equal(await v2.PMAPPROC_SET({ prog: 0x20000123, vers: 1, prot: 17, port: 999 }), true);
  assert.equal(await v2.PMAPPROC_SET({ prog: 0x20000123, vers: 1, prot: 17, port: 998 }), false, "already registered");
  const rpcb = { r_prog: 0x20000123, r_vers: 1, r_netid: "tcp", r_addr: "127.0.0.1.3.232", r_owner: "t" };
  assert.equal(await v4.RPCBPROC_SET(rpcb), true);
  assert.equal(await v2.PMAPPROC_GETPORT({ prog: 0x20000123, vers: 1, prot: 6, port: 0 }), 1000);
  assert.equal(await v4.RPCBPROC_GETADDR({ ...rpcb, r_addr: "" }), "127.0.0.1.3.232");
  assert.equal(await v4.RPCBPROC_GETADDR({ ...rpcb, r_vers: 2 }), "", "unknown: empty address");
  const ports: number[] = [];
  for (let l = await v2.PMAPPROC_DUMP(); l !== null; l = l.next) if (l.map.prog === 0x20000123) ports.push(l.map.port);
  assert.deepEqual(ports.sort(), [1000, 999]);
  assert.equal(await v2.PMAPPROC_UNSET({ prog: 0x20000123, vers: 1, prot: 0, port: 0 }), true);
  assert.equal(
    await v2.PMAPPROC_GETPORT({ prog: 0x20000123, vers: 1, prot: 6, port: 0 }),
    0,
    "v2 UNSET takes every protocol",
  );
  assert.ok((await v4.RPCBPROC_GETTIME()) > 1_700_000_000);
});

test("SET and UNSET from another machine are refused; CALLIT, BCAST and INDIRECT are not served", async () => {
  const table = new PortmapTable();
  const remote = { peer: { transport: "tcp", address: "192.0.2.7" } } as never;
  const local = { peer: { transport: "tcp", address: "127.0.0.1" } } as never;
  const m = { prog: 7, vers: 1, prot: 6, port: 70 };
  assert.equal(table.v2.PMAPPROC_SET(m, remote), false);
  assert.equal(table.v2.PMAPPROC_SET(m, local), true);
  assert.equal(table.v2.PMAPPROC_UNSET(m, remote), false);
  assert.equal(table.v2.PMAPPROC_GETPORT(m), 70);
  // A local process looping on SET fills the table to its bound, no further.
  let accepted = 1;
  for (let prog = 1000; prog < 1000 + maxPortmapEntries + 10; prog++) {
    if (table.v2.PMAPPROC_SET({ prog, vers: 1, prot: 6, port: 1 }, local)) accepted++;
  }
  assert.equal(accepted, maxPortmapEntries);
  const pm = await createPortmapper({ listen: ["tcp://127.0.0.1:0"] });
  cleanups.push(() => pm.close());
  const port = Number(pm.addresses[0]?.split(":").pop());
  const Forwarders = defineService("FWD", {
    CALLIT: unary<void, void>({ program: 100000, version: 2, id: 5, wire: { input: xdr.void, output: xdr.void } }),
    BCAST: unary<void, void>({ program: 100000, version: 4, id: 5, wire: { input: xdr.void, output: xdr.void } }),
    INDIRECT: unary<void, void>({ program: 100000, version: 4, id: 10, wire: { input: xdr.void, output: xdr.void } }),
  });
  for (const scheme of ["oncrpc+tcp", "oncrpc+udp"]) {
    const client = createClient(`${scheme}://127.0.0.1:${port}`);
    cleanups.push(() => client.close());
    const f = client.service(Forwarders);
    for (const call of [f.CALLIT(), f.BCAST(), f.INDIRECT()]) {
      assert.match((await rejectsWith(call, Code.Unimplemented)).rawMessage, /PROC_UNAVAIL/);
    }
  }
});

test("version 4's GETVERSADDR, GETADDRLIST, GETSTAT, and the address conversions of versions 3 and 4", async () => {
  const pm = await createPortmapper({ listen: ["tcp://127.0.0.1:0"] });
  cleanups.push(() => pm.close());
  const port = Number(pm.addresses[0]?.split(":").pop());
  const client = createClient(`oncrpc+udp://127.0.0.1:${port}`);
  cleanups.push(() => client.close());
  const v4 = client.service(Rpcbind4);
  const me = { r_prog: 100000, r_vers: 4, r_netid: "tcp", r_addr: "", r_owner: "" };
  const uaddr = `127.0.0.1.${port >> 8}.${port & 0xff}`;
  assert.equal(await v4.RPCBPROC_GETVERSADDR(me), uaddr);
  const list: string[] = [];
  for (let l = await v4.RPCBPROC_GETADDRLIST(me); l !== null; l = l.rpcb_entry_next) {
    const e = l.rpcb_entry_map;
    list.push(`${e.r_nc_netid} ${e.r_nc_protofmly} ${e.r_nc_proto} ${e.r_nc_semantics} ${e.r_maddr}`);
  }
  assert.deepEqual(list, [`tcp inet tcp 3 ${uaddr}`, `udp inet udp 1 ${uaddr}`]);
  const taddr = await v4.RPCBPROC_UADDR2TADDR("127.0.0.1.0.111");
  assert.deepEqual([taddr.maxlen, [...taddr.buf]], [16, [2, 0, 0, 111, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]]);
  assert.equal(await v4.RPCBPROC_TADDR2UADDR(taddr), "127.0.0.1.0.111");
  assert.equal((await v4.RPCBPROC_UADDR2TADDR("not an address")).maxlen, 0);
  const stats = await v4.RPCBPROC_GETSTAT();
  assert.equal(stats.length, 3);
  assert.equal(stats[2]?.info[9], 1, "one GETVERSADDR counted in version 4");
  assert.deepEqual(
    [stats[2]?.addrinfo?.prog, stats[2]?.addrinfo?.vers, stats[2]?.addrinfo?.netid, stats[2]?.addrinfo?.success],
    [100000, 4, "tcp", 1],
  );
});
