import { criNetworkConformance } from "@wasm-shims/test-lab";
import { LISTEN_ENV } from "../src/http/config.ts";
import { buildComponents } from "./components.ts";

// A jco guest can listen (wasi:http), so its pods are also reached through port-forward.
criNetworkConformance({
  engine: "jco",
  httpGuest: {
    component: async () => (await buildComponents()).http,
    listenEnv: LISTEN_ENV,
    body: "hello over http\n",
  },
});
