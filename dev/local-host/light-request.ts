// A Fetch-API `Request` look-alike over an already-read body, handed to `@azure/functions`' HttpRequest as its
// native request. Building a real undici Request per call was the local host's largest cost; the body stream is
// one chunk over the buffer, and the rarely used formData()/blob() fall back to a real Request made on demand.

export function lightRequest(method: string, url: string, headers: Headers, body: Buffer): Request {
  let real: Request | undefined;
  const toReal = () => (real ??= new Request(url, { method, headers, body: body.length > 0 && method !== "GET" && method !== "HEAD" ? body : undefined }));
  let used = false;
  let stream: ReadableStream<Uint8Array> | undefined;
  const consume = () => {
    if (used) throw new TypeError("Body is unusable: Body has already been read");
    used = true;
    return body;
  };
  const light = {
    url,
    method,
    headers,
    get bodyUsed() { return used || (real?.bodyUsed ?? false); },
    // The body as one chunk (what a capped reader such as readBodyBytes pulls), without building a real Request.
    get body() {
      if (real) return real.body;
      if (body.length === 0 || method === "GET" || method === "HEAD") return null;
      used = true;
      return (stream ??= new ReadableStream<Uint8Array>({ start(controller) { controller.enqueue(new Uint8Array(body.buffer, body.byteOffset, body.byteLength)); controller.close(); } }));
    },
    arrayBuffer: async () => { const b = consume(); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); },
    text: async () => consume().toString("utf8"),
    json: async () => JSON.parse(consume().toString("utf8")) as unknown,
    formData: () => toReal().formData(),
    blob: () => toReal().blob(),
    clone: () => lightRequest(method, url, headers, body),
  };
  return light as unknown as Request;
}
