// Real etcd (Debian's etcd-server, installed by scripts/ci.sh) for the etcd tests: one member or a
// 3-member cluster on loopback, each member a child process in a temporary data directory,
// stopped, killed and restarted by PID. Nothing here is a test; the runner loads it and finds none.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A free loopback port (bound, then released). */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Member {
  readonly name: string;
  /** `127.0.0.1:PORT`, the client port. */
  readonly client: string;
  readonly peer: string;
  proc: ChildProcess | undefined;
}

/** An etcd cluster of child processes on loopback. */
export class EtcdCluster {
  private constructor(
    readonly members: Member[],
    private readonly dir: string,
    private readonly initialCluster: string,
  ) {}

  /** Starts `size` members and waits until the cluster answers. */
  static async start(size = 1): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), "farcall-etcd-"));
    const members: Member[] = [];
    for (let i = 0; i < size; i++)
      members.push({
        name: `m${i}`,
        client: `127.0.0.1:${await freePort()}`,
        peer: `127.0.0.1:${await freePort()}`,
        proc: undefined,
      });
    const initial = members.map((m) => `${m.name}=http://${m.peer}`).join(",");
    const cluster = new EtcdCluster(members, dir, initial);
    for (const m of members) cluster.spawn(m);
    await cluster.healthy();
    return cluster;
  }

  /** `etcd://` authority: every member's client address. */
  get endpoints(): string {
    return this.members.map((m) => m.client).join(",");
  }

  private spawn(m: Member): void {
    const args = [
      "--name",
      m.name,
      "--data-dir",
      join(this.dir, m.name),
      "--listen-client-urls",
      `http://${m.client}`,
      "--advertise-client-urls",
      `http://${m.client}`,
      "--listen-peer-urls",
      `http://${m.peer}`,
      "--initial-advertise-peer-urls",
      `http://${m.peer}`,
      "--initial-cluster",
      this.initialCluster,
      "--initial-cluster-token",
      "farcall-test",
      "--initial-cluster-state",
      "new",
      "--log-level",
      "error",
    ];
    // The log goes to a file, not a pipe: a pipe would be a handle open across the tests.
    const logPath = join(this.dir, `${m.name}.log`);
    const log = openSync(logPath, "a");
    const proc = spawn("etcd", args, { stdio: ["ignore", "ignore", log] });
    closeSync(log);
    proc.once("error", (err) => {
      throw new Error(`etcd could not start (is etcd-server installed?): ${err.message}`);
    });
    proc.once("exit", (code, signal) => {
      if (m.proc === proc) m.proc = undefined;
      if (code !== 0 && signal === null)
        process.stderr.write(`etcd ${m.name} exited ${code}: ${readFileSync(logPath, "utf8").slice(-4000)}\n`);
    });
    m.proc = proc;
  }

  /** etcdctl against the given members (default all running ones). */
  async ctl(args: string[], members = this.members.filter((m) => m.proc !== undefined)): Promise<string> {
    const { stdout } = await run("etcdctl", ["--endpoints", members.map((m) => m.client).join(","), ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      timeout: 10_000,
    });
    return stdout;
  }

  /** Waits (up to 20 s) until every running member reports healthy. */
  async healthy(): Promise<void> {
    const until = Date.now() + 20_000;
    for (;;) {
      try {
        await this.ctl(["endpoint", "health", "--command-timeout=1s"]);
        return;
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** The member that is the Raft leader now. */
  async leader(): Promise<Member> {
    const status = JSON.parse(await this.ctl(["endpoint", "status", "-w", "json"])) as {
      Endpoint: string;
      Status: { header: { member_id: number }; leader: number };
    }[];
    const lead = status.find((s) => s.Status.header.member_id === s.Status.leader);
    const m = this.members.find((x) => x.client === lead?.Endpoint);
    if (m === undefined) throw new Error(`no leader in ${JSON.stringify(status)}`);
    return m;
  }

  /** SIGKILLs a member and waits for it to be gone. */
  async kill(m: Member): Promise<void> {
    const proc = m.proc;
    if (proc === undefined) return;
    const gone = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await gone;
  }

  /** Starts a stopped member again on its data directory and port. */
  restart(m: Member): void {
    if (m.proc === undefined) this.spawn(m);
  }

  /** Kills every member and removes the data. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
