import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes, randomInt } from "node:crypto";

/** Where Debian's containernetworking-plugins puts them (tools/build.sh installs the package). */
export const hostCniBinDir = "/usr/lib/cni";

/**
 * A node's pod network: containerd's CRI needs a CNI network for every pod that is not
 * host-network. Everything lives under the daemon's own `cni/` dir (config, plugins, IP
 * reservations) and a bridge of its own; the host's /etc/cni and /opt/cni are never read.
 *
 * Loopback alone is not enough for containerd 1.6: it fails RunPodSandbox unless the result has an
 * IP on eth0. The bridge is not a gateway and nothing is masqueraded, so the host's routes,
 * ip_forward and iptables stay as they were; port-forward dials inside the pod's netns anyway.
 */
export class PodNetwork {
  readonly bridge: string;
  readonly subnet: string;
  readonly name: string;
  readonly #ipamDir: string;
  /** Network namespaces of the pods run on this network, so leftovers() can tell they are gone. */
  readonly netns = new Set<string>();

  private constructor(cniDir: string) {
    // IFNAMSIZ: 15 bytes at most.
    this.bridge = `wsb${randomBytes(4).toString("hex")}`;
    this.name = `wasm-shims-${this.bridge}`;
    // A random private /24, so that two nodes on one host hardly ever share one.
    this.subnet = `10.${randomInt(200, 250)}.${randomInt(0, 256)}.0/24`;
    this.#ipamDir = join(cniDir, "ipam");
  }

  /** Writes the conflist and links the plugins into containerd's `cni/conf` and `cni/bin` under `cniDir`. */
  static create(cniDir: string): PodNetwork {
    for (const plugin of ["bridge", "host-local", "loopback"]) {
      if (!existsSync(join(hostCniBinDir, plugin)))
        throw new Error(
          `no CNI plugin ${join(hostCniBinDir, plugin)}: install containernetworking-plugins (tools/build.sh does)`,
        );
    }
    const net = new PodNetwork(cniDir);
    for (const sub of ["bin", "conf"]) mkdirSync(join(cniDir, sub), { recursive: true });
    for (const plugin of ["bridge", "host-local", "loopback"])
      symlinkSync(join(hostCniBinDir, plugin), join(cniDir, "bin", plugin));
    const conflist = {
      cniVersion: "1.0.0",
      name: net.name,
      plugins: [
        {
          type: "bridge",
          bridge: net.bridge,
          isGateway: false,
          ipMasq: false,
          ipam: { type: "host-local", ranges: [[{ subnet: net.subnet }]], dataDir: net.#ipamDir },
        },
      ],
    };
    writeFileSync(join(cniDir, "conf", "10-wasm-shims.conflist"), `${JSON.stringify(conflist, null, 2)}\n`);
    return net;
  }

  /** What outlives the pods on the host: their netns, veths on the bridge, IPs still reserved. */
  leftovers(): string[] {
    const found = [...this.netns].filter((p) => existsSync(p)).map((p) => `network namespace ${p}`);
    const ports = list(`/sys/class/net/${this.bridge}/brif`);
    found.push(...ports.map((port) => `interface ${port} on bridge ${this.bridge}`));
    // host-local keeps one file per reserved IP, plus its lock and last_reserved_ip.<range>.
    const reserved = list(join(this.#ipamDir, this.name)).filter(
      (f) => f !== "lock" && !f.startsWith("last_reserved_ip"),
    );
    found.push(...reserved.map((ip) => `IP ${ip} still reserved in ${join(this.#ipamDir, this.name)}`));
    return found;
  }

  /**
   * The bridge is the one thing the plugin never deletes (its dataDir goes with containerd's dir);
   * a netns outlives its pod only when containerd died first, and then goes the way `ip netns del` does it.
   */
  remove(): void {
    for (const path of [...this.netns].filter((p) => existsSync(p))) {
      execFileSync("umount", ["--lazy", path]);
      rmSync(path, { force: true });
    }
    // Deleting the bridge takes any veth still on it along.
    if (existsSync(`/sys/class/net/${this.bridge}`)) execFileSync("ip", ["link", "del", this.bridge]);
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
