// A wasi:http component in JavaScript (componentize-js `fetch` event) with one route per thing
// the HTTP tests check: bodies streamed both ways, status codes, outgoing requests, timers,
// module state (fresh instance or reused), and a handler that never returns.
let served = 0;

// Bodies are streamed in 64 KiB chunks whose byte i is i % 251. The JS engine is an interpreter,
// so nothing touches every byte of a 100 MB body; the client checks the content.
const CHUNK = 64 * 1024;
const pattern = new Uint8Array(CHUNK).map((_, i) => i % 251);

async function handle(request) {
  const url = new URL(request.url);
  const path = url.pathname;
  served++;
  if (path === "/hello") return new Response("hello from js\n");
  if (path === "/count") return new Response(`${served}\n`);
  if (path === "/echo") {
    const body = new Uint8Array(await request.arrayBuffer());
    const headers = [];
    request.headers.forEach((value, name) => headers.push([name, value]));
    return Response.json({ method: request.method, path: url.pathname + url.search, headers, bodyLength: body.length });
  }
  if (path.startsWith("/status/")) {
    const status = Number(path.slice(8));
    // Fetch forbids a body with 204, 205 and 304.
    return new Response([204, 205, 304].includes(status) ? null : `status ${status}\n`, { status });
  }
  if (path === "/upload") {
    // Counts the body as it streams in, holding one chunk at a time; samples a byte per chunk.
    let bytes = 0;
    let chunks = 0;
    let sampled = 0;
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.length > 0 && value[0] === bytes % 251) sampled++;
      bytes += value.length;
      chunks++;
    }
    return Response.json({ bytes, chunks, sampled });
  }
  if (path === "/download") {
    const total = Number(url.searchParams.get("bytes"));
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= total) return controller.close();
        const n = Math.min(CHUNK, total - sent);
        controller.enqueue(pattern.slice(0, n));
        sent += n;
      },
    });
    return new Response(body, { headers: { "content-type": "application/octet-stream" } });
  }
  if (path === "/fetch") {
    const upstream = await fetch(url.searchParams.get("url"), {
      method: "POST",
      body: "from the component",
      headers: { "x-from": "component" },
    });
    const text = await upstream.text();
    return Response.json({ status: upstream.status, body: text, header: upstream.headers.get("x-upstream") });
  }
  if (path === "/sleep") {
    const ms = Number(url.searchParams.get("ms"));
    // Tells a test the request is in the handler (so it is in flight when the test stops the server).
    console.error(`sleeping ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return new Response(`slept ${ms} ms\n`);
  }
  if (path === "/spin") {
    for (;;) {}
  }
  if (path === "/throw") throw new Error("thrown by the handler");
  return new Response("not found\n", { status: 404 });
}

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));
