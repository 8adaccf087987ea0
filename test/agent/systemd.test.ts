// The shipped systemd unit (agent/systemd/flotilla-agent.service) checked by systemd's own tools, which
// run here without a running systemd: `systemd-analyze verify` against a scratch root holding the unit,
// systemd's stock units and an executable where ExecStart points, and `systemd-analyze security
// --offline` for its exposure level; plus agreement with the example config's paths.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const UNIT = join(root, "agent/systemd/flotilla-agent.service");
const ANALYZE = "/usr/bin/systemd-analyze";
const STOCK_UNITS = "/usr/lib/systemd/system";

let scratch = "";

function analyze(args: string[]) {
  const run = spawnSync(ANALYZE, args, { encoding: "utf8" });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A root with systemd's stock units, the unit installed as the README says, and ExecStart's binary. */
async function machineRoot(withBinary: boolean): Promise<string> {
  const dir = await mkdtemp(join(scratch, "root-"));
  await mkdir(join(dir, "usr/lib/systemd"), { recursive: true });
  await cp(STOCK_UNITS, join(dir, "usr/lib/systemd/system"), { recursive: true });
  await mkdir(join(dir, "etc/systemd/system"), { recursive: true });
  await cp(UNIT, join(dir, "etc/systemd/system/flotilla-agent.service"));
  if (withBinary) {
    await mkdir(join(dir, "usr/local/bin"), { recursive: true });
    await writeFile(join(dir, "usr/local/bin/flotilla-agent"), "#!/bin/sh\n");
    await chmod(join(dir, "usr/local/bin/flotilla-agent"), 0o755);
  }
  return dir;
}

/** The unit's [Service] settings (a key given twice keeps every value). */
async function serviceSettings(): Promise<Map<string, string[]>> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of (await readFile(UNIT, "utf8")).split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) section = line;
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (section === "[Service]" && match?.[1]) {
      settings.set(match[1], [...(settings.get(match[1]) ?? []), match[2] ?? ""]);
    }
  }
  return settings;
}

beforeAll(async () => {
  for (const needed of [ANALYZE, STOCK_UNITS]) {
    if (!existsSync(needed)) throw new Error(`${needed} is missing: install the Debian package systemd.`);
  }
  scratch = await mkdtemp(join(tmpdir(), "flotilla-systemd-"));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("agent/systemd/flotilla-agent.service", () => {
  it("passes systemd-analyze verify with no warning once installed", async () => {
    const verified = analyze(["verify", `--root=${await machineRoot(true)}`, "flotilla-agent.service"]);
    expect(verified.stderr).toBe("");
    expect(verified.code).toBe(0);
  });

  it("is refused by systemd-analyze verify when ExecStart's executable is not installed", async () => {
    const verified = analyze(["verify", `--root=${await machineRoot(false)}`, "flotilla-agent.service"]);
    expect(verified.code).not.toBe(0);
    expect(verified.stderr).toContain("Command /usr/local/bin/flotilla-agent is not executable");
  });

  it("rates OK or better in systemd-analyze security (exposure at most 2.0)", () => {
    const rated = analyze(["security", "--offline=true", UNIT]);
    expect(rated.code, rated.stderr).toBe(0);
    const overall = /Overall exposure level for flotilla-agent\.service: (\d+\.\d) (\w+)/.exec(rated.stdout);
    expect(overall, rated.stdout).not.toBeNull();
    expect(Number(overall?.[1])).toBeLessThanOrEqual(2.0);
    expect(["SAFE", "OK"]).toContain(overall?.[2]);
  });

  it("runs the single executable with the example config's paths writable and nothing else", async () => {
    const settings = await serviceSettings();
    expect(settings.get("ExecStart")).toEqual([
      "/usr/local/bin/flotilla-agent start --config /etc/flotilla/agent.toml",
    ]);
    const example = parse(await readFile(join(root, "agent/flotilla-agent.example.toml"), "utf8")) as {
      server: { data_dir: string; follower: { managed_ingress_local_root: string } };
    };
    expect(example.server.data_dir).toBe(`/var/lib/${settings.get("StateDirectory")?.[0]}`);
    expect(settings.get("ReadWritePaths")).toEqual([
      `-${example.server.follower.managed_ingress_local_root}`,
    ]);
    expect(settings.get("ProtectSystem")).toEqual(["strict"]);
    expect(settings.get("User")).toEqual(["flotilla"]);
  });
});
