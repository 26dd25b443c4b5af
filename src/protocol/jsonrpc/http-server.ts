import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { IncomingCall } from "../call-context.js";
import { jsonType, metadataHeaders, readPost } from "../http/post.js";
import { httpStatusOf } from "../http/status.js";
import type { HttpRoute } from "../protocol.js";
import { JsonRpcResponder, type JsonRpcSettings } from "./server.js";

/**
 * JSON-RPC 2.0 over HTTP (docs/protocols.md): `POST /` or `POST /jsonrpc`; the answer is `200` with
 * the reply text (errors included), or `204` when the body held only notifications.
 */
export function jsonRpcRoute(settings: JsonRpcSettings): HttpRoute {
  return (req, res, route) => {
    const path = req.url.split("?", 1)[0] ?? "/";
    if (path !== "/" && path !== "/jsonrpc") return false;
    readPost(req, res, route, ({ metadata, deadline, timeoutMs, body }) => {
      const responder = new JsonRpcResponder(
        route.serve.dispatcher,
        { ...settings, limits: route.serve.limits },
        req.peer,
      );
      res.onAbort(() => responder.abortAll(new RpcError(Code.Canceled, "client went away")));
      /** The answer, signed when the guard signs replies (HMAC): over the whole text. */
      let incoming: IncomingCall | undefined;
      const answer = (text: string | undefined) => {
        if (text === undefined) {
          res.head(204, route.cors);
          res.end();
        } else {
          const sign = route.serve.dispatcher.guard?.signReply;
          const entries =
            sign === undefined || incoming === undefined
              ? undefined
              : sign(incoming, undefined, [new TextEncoder().encode(text)]);
          res.head(200, { ...route.cors, ...jsonType, ...metadataHeaders(entries) });
          res.end(text);
        }
      };
      const guard = route.serve.dispatcher.guard;
      if (guard === undefined) {
        const out = responder.handle(body, { metadata, deadline });
        if (out instanceof Promise) out.then(answer);
        else answer(out);
        return;
      }
      // Refused before any call is read: 401 with the JSON-RPC error, so HTTP clients see it too.
      incoming = { method: undefined, metadata, peer: req.peer, timeoutMs, body };
      responder.authenticate(guard, body, { metadata, timeoutMs }).then(
        (principal) =>
          Promise.resolve(responder.handle(body, { metadata, deadline, principal: { value: principal } })).then(answer),
        (err: RpcError) => {
          res.head(httpStatusOf(err.code), {
            ...route.cors,
            ...jsonType,
            "www-authenticate": 'Bearer realm="farcall"',
          });
          res.end(responder.malformed(err));
        },
      );
    });
    return true;
  };
}
