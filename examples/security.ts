// The README's security example, verbatim (test/readme.test.ts keeps the two the same and runs it).
// Certificates: `bash scripts/make-certs.sh /tmp/certs`, then `node dist/examples/security.js /tmp/certs`.
import { readFileSync } from "node:fs";
import { bearerTokens, createClient, createServer, defineService, hmacVerifier, unary } from "farcall";

const pem = (name: string) => readFileSync(`${process.argv[2]}/${name}.pem`, "utf8");
const Hello = defineService("Hello", { who: unary<void, string>() });

// TLS with client certificates (mTLS) and a token verifier: the handler sees both identities.
const server = createServer({
  tls: { cert: pem("server"), key: pem("server-key"), ca: pem("ca"), clientCertificates: "require" },
  authenticate: bearerTokens((token) => {
    if (token !== "s3cret-token") throw new Error("unknown token");
    return { user: "ann" };
  }),
}).add(Hello, {
  who: (_, ctx) => `${ctx.peer.tls?.certificate?.commonName} as ${(ctx.principal as { user: string }).user}`,
});
const port = (await server.listen("tcp://127.0.0.1:0")).split(":").pop();
const client = createClient(`tls://localhost:${port}`, {
  tls: { ca: pem("ca"), cert: pem("client"), key: pem("client-key") },
  token: "s3cret-token",
});
console.log(await client.service(Hello).who()); // client as ann

// HMAC-signed calls: the server runs only calls signed with a key it holds, each once.
const secret = "at least 32 bytes of shared secret!";
const signedServer = createServer({
  authenticate: hmacVerifier({ keys: new Map([["k1", new TextEncoder().encode(secret)]]) }),
}).add(Hello, { who: (_, ctx) => `signed by ${(ctx.principal as { keyId: string }).keyId}` });
const signedAddress = await signedServer.listen("tcp://127.0.0.1:0");
const signed = createClient(signedAddress, { hmac: { keyId: "k1", secret } });
console.log(await signed.service(Hello).who()); // signed by k1

await Promise.all([client.close(), signed.close()]);
await Promise.all([server.close(), signedServer.close()]);
