// Owns the benchmark's reference server: Debian's nginx started on loopback for one run, serving the
// agent's ingress directory as static files (sendfile, as Debian's default configuration has it) and
// taking PUTs into RAM (WebDAV PUT under /sink/ on /dev/shm), so a curl transfer against it is the
// client's own ceiling. Without nginx installed the run says how to install it and goes on without it.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../stack/follower.ts";

const CANDIDATES = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"];
export const NGINX_MISSING =
  "nginx is not installed: the nginx figures (the client's ceiling) are left out. Install Debian's nginx (apt-get install nginx) to measure them.";

export interface Nginx {
  url: string;
  /** Where PUTs to `${url}/sink/<name>` land (in RAM); emptied by `clearSink`. */
  clearSink(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts nginx serving `root`; null when nginx is not installed. */
export async function startNginx(root: string): Promise<Nginx | null> {
  const binary = CANDIDATES.find((path) => existsSync(path));
  if (!binary) return null;
  const prefix = await mkdtemp(join(tmpdir(), "flotilla-bench-nginx-"));
  const ram = existsSync("/dev/shm") ? await mkdtemp("/dev/shm/flotilla-bench-") : prefix;
  const sink = join(ram, "sink");
  await mkdir(sink);
  await mkdir(join(ram, "body"));
  const port = await freePort();
  const conf = join(prefix, "nginx.conf");
  await writeFile(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${join(prefix, "nginx.pid")};
error_log ${join(prefix, "error.log")} warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${join(ram, "body")};
  proxy_temp_path ${join(prefix, "proxy")};
  fastcgi_temp_path ${join(prefix, "fastcgi")};
  uwsgi_temp_path ${join(prefix, "uwsgi")};
  scgi_temp_path ${join(prefix, "scgi")};
  server {
    listen 127.0.0.1:${port};
    root ${root};
    client_max_body_size 0;
    client_body_buffer_size 4m;
    location /sink/ { root ${ram}; dav_methods PUT; }
  }
}
`,
  );
  const child: ChildProcess = spawn(binary, ["-p", prefix, "-c", conf, "-e", join(prefix, "error.log")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    }
    await rm(prefix, { recursive: true, force: true });
    await rm(ram, { recursive: true, force: true });
  };
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`nginx exited at start: ${stderr.trim()}`);
    }
    const up = await fetch(`${url}/sink/`, { method: "HEAD" }).then(
      (response) => response.status > 0,
      () => false,
    );
    if (up) break;
    if (attempt > 100) {
      await stop();
      throw new Error(`nginx did not answer on ${url}: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    async clearSink() {
      await rm(sink, { recursive: true, force: true });
      await mkdir(sink);
    },
    stop,
  };
}
