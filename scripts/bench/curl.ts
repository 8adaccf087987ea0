// Owns curl as the benchmark's transfer client: one process per transfer, its body to /dev/null (GET)
// or read from a file (PUT), timed by curl itself. curl is faster than any server here, so a figure
// measures the server; its ceiling against nginx is printed beside each one.
import { execFile } from "node:child_process";

export interface CurlResult {
  status: number;
  seconds: number;
  bytes: number;
  /** The response body of a PUT (the agent's JSON answer); empty for GETs. */
  body: string;
}

const FORMAT = "\n%{http_code} %{time_total} %{size_download} %{size_upload}";

export function curlAvailable(): Promise<boolean> {
  return new Promise((resolve) => execFile("curl", ["--version"], (error) => resolve(!error)));
}

function run(args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "curl",
      ["--silent", "--show-error", "--http1.1", "-H", "Expect:", "-w", FORMAT, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`curl failed: ${stderr.trim() || error.message}`));
        const cut = stdout.lastIndexOf("\n");
        const [status, seconds, down, up] = stdout
          .slice(cut + 1)
          .split(" ")
          .map(Number);
        resolve({
          status: status ?? 0,
          seconds: seconds ?? Number.NaN,
          bytes: Math.max(down ?? 0, up ?? 0),
          body: stdout.slice(0, cut),
        });
      },
    );
  });
}

const headerArgs = (headers: Record<string, string>) =>
  Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);

/** GETs `url` into /dev/null; `range` is an HTTP byte range such as `0-1023`. */
export function curlGet(url: string, headers: Record<string, string> = {}, range?: string) {
  return run([...headerArgs(headers), ...(range ? ["-r", range] : []), "-o", "/dev/null", url]);
}

/** PUTs the file at `path` to `url` with its exact Content-Length. */
export function curlPut(url: string, path: string, headers: Record<string, string> = {}) {
  return run([...headerArgs(headers), "-T", path, url]);
}
