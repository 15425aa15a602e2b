// A Fetch-API `Request` look-alike over an already-read body, handed to `@azure/functions`' HttpRequest as its
// native request. Building a real undici Request per call was the local host's largest cost; the body stream hands
// out the pieces as the socket delivered them (a reader that refuses at the first bad piece copies nothing), and
// the rarely used formData()/blob() fall back to a real Request made on demand.

export function lightRequest(method: string, url: string, headers: Headers, pieces: readonly Buffer[]): Request {
  let joined: Buffer | undefined;
  const whole = () => (joined ??= pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
  const size = pieces.reduce((sum, piece) => sum + piece.length, 0);
  let real: Request | undefined;
  const toReal = () => (real ??= new Request(url, { method, headers, body: size > 0 && method !== "GET" && method !== "HEAD" ? whole() : undefined }));
  let used = false;
  let stream: ReadableStream<Uint8Array> | undefined;
  const consume = () => {
    if (used) throw new TypeError("Body is unusable: Body has already been read");
    used = true;
    return whole();
  };
  const light = {
    url,
    method,
    headers,
    get bodyUsed() { return used || (real?.bodyUsed ?? false); },
    // The body piece by piece (what a capped reader such as readBodyBytes pulls), without building a real Request.
    get body() {
      if (real) return real.body;
      if (size === 0 || method === "GET" || method === "HEAD") return null;
      used = true;
      let next = 0;
      return (stream ??= new ReadableStream<Uint8Array>({
        pull(controller) {
          const piece = pieces[next++];
          if (piece) controller.enqueue(new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength));
          if (next >= pieces.length) controller.close();
        },
      }, { highWaterMark: 0 }));
    },
    arrayBuffer: async () => { const b = consume(); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); },
    text: async () => consume().toString("utf8"),
    json: async () => JSON.parse(consume().toString("utf8")) as unknown,
    formData: () => toReal().formData(),
    blob: () => toReal().blob(),
    clone: () => lightRequest(method, url, headers, pieces),
  };
  return light as unknown as Request;
}
