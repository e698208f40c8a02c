// The smallest useful wasi:http component in JavaScript: componentize-js's `fetch` event, as a
// new user writes it. The HTTP benchmark serves it.
addEventListener("fetch", (event) => event.respondWith(new Response("hello from js\n")));
