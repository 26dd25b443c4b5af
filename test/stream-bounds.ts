// Bounds shared by the stream tests (streaming.test.ts, streaming-buffers.test.ts).
import { defaultStreamWindowBytes } from "../src/protocol/index.js";

export const chunkBytes = 64 * 1024;
/**
 * How far the producer may run ahead of the consumer. A DATA frame costs its payload + 10 bytes and
 * the sender may send while its credit is above zero, so at most ceil(window / (64 KiB + 10))
 * chunks (64 with the default 4 MiB; base64 in JSON makes chunks bigger, so fewer) are sent and not
 * yet granted back, and credit is only granted for what the consumer has taken. On top of that the
 * producer has one chunk in hand waiting for credit and the consumer one being handled. 8 more
 * leave room for that and for off-by-ones; the bound stays well under the 400 an unbounded sender
 * would reach.
 */
export const maxAhead = Math.ceil(defaultStreamWindowBytes / (chunkBytes + 10)) + 8;
