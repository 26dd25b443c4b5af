// Server child: `node dist/bench/server.js <system>`. Starts the system's server on loopback,
// reports `ready` with its address, then answers the parent over IPC:
//   cpu   → process.cpuUsage() now (the parent takes deltas over the measured window)
//   usage → peak RSS so far (sampled every 20 ms, see rss.ts)
//   stop  → closes the server and exits
// It also exits when the parent goes away.

import { peakRssMiB } from "./rss.js";
import { loadSystem } from "./systems/index.js";

interface Request {
  type: string;
  id?: number;
}

function send(message: object): void {
  process.send?.(message);
}

const system = await loadSystem(process.argv[2] ?? "");
const server = await system.serve();

process.on("disconnect", () => process.exit(0));
process.on("message", (message: Request) => {
  switch (message.type) {
    case "cpu":
      send({ type: "cpu", id: message.id, cpu: server.cpu?.() ?? process.cpuUsage() });
      break;
    case "usage":
      send({ type: "usage", id: message.id, peakRssMiB: peakRssMiB() });
      break;
    case "stop": {
      const grace = new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      Promise.race([server.close(), grace]).finally(() => process.exit(0));
      break;
    }
  }
});
send({ type: "ready", address: server.address });
