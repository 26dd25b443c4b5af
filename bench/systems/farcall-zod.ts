// The farcall bench service with a zod schema on struct's input, as a user would write it: the
// farcall-zod server checks every request against it. Loaded only by that server.

import { z } from "zod";
import { defineService, unary } from "../../src/index.js";
import { benchMethods } from "./farcall.js";

const structSchema = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string(),
  description: z.string(),
  version: z.number().int(),
  score: z.number(),
  tags: z.array(z.string()),
  items: z.array(z.object({ name: z.string(), qty: z.number().int(), price: z.number(), active: z.boolean() })),
});

/** The bench service with the schema: same name and methods, so the same clients call it. */
export const BenchZod = defineService("Bench", { ...benchMethods, struct: unary({ input: structSchema }) });
