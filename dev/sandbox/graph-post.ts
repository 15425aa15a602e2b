// Outbound POSTs from the Graph emulator (validation handshakes, change and lifecycle notifications) over
// node http/https: https targets are checked against the process CAs (NODE_EXTRA_CA_CERTS adds the sandbox CA).
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface PostResult {
  status: number;
  contentType: string;
  body: string;
}

export function postTo(url: string, body: string | null, contentType: string, timeoutMs: number): Promise<PostResult> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve, reject) => {
    // An overall deadline (Graph gives the endpoint 10 s), not a socket idle timeout.
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const done = (r: PostResult) => { clearTimeout(timer); resolve(r); };
    const fail = (e: Error) => { clearTimeout(timer); reject(e); };
    const payload = body === null ? Buffer.alloc(0) : Buffer.from(body);
    const req = request(target, {
      method: "POST",
      // No pooled keep-alive sockets: a receiver that shuts down must not wait on us.
      agent: false,
      headers: { "content-type": contentType, "content-length": payload.length, "user-agent": "sandbox-graph-notifications" },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => done({
        status: res.statusCode ?? 0,
        contentType: String(res.headers["content-type"] ?? ""),
        body: Buffer.concat(chunks).toString("utf8"),
      }));
      res.on("error", fail);
    });
    req.on("error", fail);
    req.end(payload);
  });
}
