/** Every fuzz target, in the order the runner and the short test take them. */
import type { FuzzTarget } from "../engine.js";
import { httpTarget, snifferTarget, webSocketTarget } from "./carriers.js";
import { jsonTarget, msgpackTarget, xdrTarget } from "./codecs.js";
import { farcallFramesTarget, jsonSplitterTarget, oncCallTarget, oncRecordsTarget } from "./framing.js";
import { envelopeTarget, hmacTarget } from "./security.js";

export const targets: readonly FuzzTarget[] = [
  jsonTarget,
  msgpackTarget,
  xdrTarget,
  farcallFramesTarget,
  jsonSplitterTarget,
  oncRecordsTarget,
  oncCallTarget,
  snifferTarget,
  httpTarget,
  webSocketTarget,
  envelopeTarget,
  hmacTarget,
];

export function targetNamed(name: string): FuzzTarget {
  const t = targets.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no fuzz target ${name}; there are ${targets.map((x) => x.name).join(", ")}`);
  return t;
}
