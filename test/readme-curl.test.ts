// The README's curl examples, run with the real curl against the demo server: each command's
// output must be what the comment under it says.
import { test } from "node:test";
import { builtinProtocols } from "../src/index.js";
import { startDemo } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import { checkReadmeCurl } from "./peers.js";

test("the README's curl examples print what the README says", async () => {
  const h = await startDemo({ protocols: builtinProtocols({ http: { corsOrigins: "*" } }) });
  try {
    await checkReadmeCurl(Number(new URL(h.address).port));
  } finally {
    await h.close();
  }
  await assertNoLeaks();
});
