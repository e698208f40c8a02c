// A wasi:http component in JavaScript (componentize-js `fetch` event) with one route per thing
// the HTTP tests check: bodies streamed both ways, status codes, outgoing requests, timers,
// module state (fresh instance or reused), and a handler that never returns.
let served = 0;

function pattern(offset, length) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (offset + i) % 251;
  return bytes;
}

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
  if (path.startsWith("/status/")) return new Response(`status ${path.slice(8)}\n`, { status: Number(path.slice(8)) });
  if (path === "/upload") {
    // Counts and checks the body as it streams in, holding one chunk at a time.
    let bytes = 0;
    let mismatches = 0;
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length; i++) if (value[i] !== (bytes + i) % 251) mismatches++;
      bytes += value.length;
    }
    return Response.json({ bytes, mismatches });
  }
  if (path === "/download") {
    const total = Number(url.searchParams.get("bytes"));
    const chunk = 64 * 1024;
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= total) return controller.close();
        const n = Math.min(chunk, total - sent);
        controller.enqueue(pattern(sent, n));
        sent += n;
      },
    });
    return new Response(body, { headers: { "content-type": "application/octet-stream" } });
  }
  if (path === "/fetch") {
    const upstream = await fetch(url.searchParams.get("url"), { method: "POST", body: "from the component", headers: { "x-from": "component" } });
    const text = await upstream.text();
    return Response.json({ status: upstream.status, body: text, header: upstream.headers.get("x-upstream") });
  }
  if (path === "/sleep") {
    const ms = Number(url.searchParams.get("ms"));
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
