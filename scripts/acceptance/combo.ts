// Owns one pass of tutorial §4-§8 for one transfer mode on one ingress target: remote policy and its
// connection test, test group and user, then as that user the §8 checklist, the object on the
// follower, Test Connection again, and cleaning up what the pass created.
import { randomBytes } from "node:crypto";
import {
  checkResolution,
  createGroup,
  createPolicy,
  createTeam,
  createUser,
  login,
  type NodeView,
  type Target,
  type Team,
  testConnection,
  testPolicy,
} from "./admin.ts";
import type { Api } from "./api.ts";
import { cleanUp } from "./cleanup.ts";
import type { AcceptanceConfig, Mode, TargetKind } from "./config.ts";
import {
  createAndOpenShare,
  deleteAndRestore,
  downloadRange,
  downloadShare,
  downloadWhole,
  preview,
} from "./files.ts";
import { type Fixture, pdfFile, pngFile, randomFile } from "./fixtures.ts";
import { inBucket, inIngressDir, storageCheck } from "./storage.ts";
import { type FileOut, uploadFile } from "./upload.ts";
import { check, mib, need, type StepContext, type Walk } from "./walk.ts";

export interface ComboInput {
  walk: Walk;
  /** Undefined when login or finding the node failed: every step then fails naming that step. */
  admin: Api | undefined;
  node: NodeView | undefined;
  config: AcceptanceConfig;
  mode: Mode;
  kind: TargetKind;
  target: Target | undefined;
}

export async function runCombo(input: ComboInput): Promise<void> {
  const { walk, config, mode, kind, target } = input;
  const admin = () => need(input.admin, "admin login");
  const node = () => need(input.node, "follower node ready");
  const label = `${mode}/${kind}`;
  const step = <T>(name: string, run: (context: StepContext) => Promise<T>) =>
    walk.step(`${label}: ${name}`, run);
  const chunk = config.chunkSize;
  const password = `pw-${randomBytes(12).toString("hex")}`;

  const policy = await step("remote storage policy", async (c) => {
    need(target, `${kind}: make it the default ingress target`);
    const created = await createPolicy(admin(), node(), config, mode, label);
    c.note(`"${created.name}", chunk ${mib(chunk)}, ${mode} both ways`);
    return created;
  });
  await step("policy connection test", async (c) => {
    c.note(
      await testPolicy(
        admin(),
        need(policy, "remote storage policy"),
        need(target, `${kind}: make it the default ingress target`),
      ),
    );
  });
  const group = await step("test policy group with a rule", async (c) => {
    const created = await createGroup(
      admin(),
      need(policy, "remote storage policy"),
      `Remote Test Group ${label} ${config.runId}`,
    );
    c.note(`"${created.name}", 0 bytes and up -> the remote policy`);
    return created;
  });
  const user = await step("test user bound to the group", async (c) => {
    const username = `${config.runId}-${mode === "relay_stream" ? "relay" : "presigned"}-${kind}`;
    const created = await createUser(admin(), need(group, "test policy group"), username, password);
    await checkResolution(admin(), { user: created }, need(policy, "remote storage policy"), 4 * chunk);
    c.note(`${username}, uploads resolve to the remote policy`);
    return { user: created, api: await login(config.url, username, password, `acceptance ${config.runId}`) };
  });
  const as = () => need(user, "test user bound to the group").api;

  const small = randomFile(`small-${config.runId}.bin`, 12_345);
  const large = randomFile(`large-${config.runId}.bin`, 4 * chunk + Math.floor(chunk / 2));
  const png = pngFile(`preview-${config.runId}.png`);
  const pdf = pdfFile(`preview-${config.runId}.pdf`, `Flotilla acceptance ${config.runId}`);
  const uploaded: FileOut[] = [];
  const teamFiles: { file: FileOut; space: string }[] = [];
  const teams: Team[] = [];
  const send = async (fixture: Fixture, c: StepContext) => {
    const { file, parts } = await uploadFile(as(), fixture, mode, config.runId);
    uploaded.push(file);
    c.note(`${mib(fixture.bytes.length)}, ${parts} part${parts === 1 ? "" : "s"}, sha256 ok`);
    return file;
  };

  const smallFile = await step("upload small file", (c) => send(small, c));
  await step("team space upload (team bound to the group)", async (c) => {
    const p = need(policy, "remote storage policy");
    const member = need(user, "test user bound to the group").user;
    const team = await createTeam(
      admin(),
      need(group, "test policy group"),
      member,
      `Remote Test Team ${label} ${config.runId}`,
    );
    teams.push(team);
    await checkResolution(admin(), { team }, p, small.bytes.length);
    const fixture = randomFile(`team-${config.runId}.bin`, 54_321);
    const { file } = await uploadFile(as(), fixture, mode, config.runId, team.id);
    teamFiles.push({ file, space: team.id });
    check(file.policy_id === p.id, "the team file does not use the remote policy");
    c.note(`"${team.name}", ${mib(fixture.bytes.length)} stored with the remote policy`);
    return file;
  });
  const largeFile = await step("upload large file", async (c) => {
    const file = await send(large, c);
    check(Math.ceil(large.bytes.length / chunk) > 3, "the large file must have more than three parts");
    return file;
  });
  await step("download whole", async (c) => {
    const got = await downloadWhole(as(), need(largeFile, "upload large file"), large, mode);
    c.note(`${mib(got.bytes.length)} via ${got.via}, sha256 ok`);
  });
  await step("download range", async (c) => {
    c.note(await downloadRange(as(), need(largeFile, "upload large file"), large, mode, chunk));
  });
  const share = await step("share link: create and open", async (c) => {
    const created = await createAndOpenShare(as(), need(largeFile, "upload large file"));
    c.note("public metadata matches, 5 downloads allowed");
    return created;
  });
  await step("share link: download", async (c) => {
    c.note(await downloadShare(as(), need(share, "share link: create and open"), large, mode));
  });
  await step("delete, then restore from the trash", async (c) => {
    await deleteAndRestore(as(), need(smallFile, "upload small file"), small, mode);
    c.note("404 while trashed, restored under its name, sha256 ok");
  });
  await step("preview an image", async (c) => {
    const file = await send(png, { note: () => undefined });
    c.note(await preview(as(), file, png));
  });
  await step("preview a PDF", async (c) => {
    const file = await send(pdf, { note: () => undefined });
    c.note(await preview(as(), file, pdf));
  });
  const found = await step("object on the follower", async (c) => {
    const file = need(largeFile, "upload large file");
    const p = need(policy, "remote storage policy");
    const t = need(target, `${kind}: make it the default ingress target`);
    const result = await storageCheck(admin(), file, p, t);
    const seen = [`storage check: exists on ${t.name}, ${mib(result.object.size ?? 0)}`];
    if (kind === "local" && config.ingressDir)
      seen.push(`file ${await inIngressDir(config.ingressDir, t, p, result, file)}`);
    if (kind === "s3" && config.s3) seen.push(`bucket ${await inBucket(config.s3, p, result, file)}`);
    c.note(seen.join("; "));
    return result;
  });
  await step("Test Connection again", async (c) => {
    const result = await testConnection(admin(), node(), config.modes.includes("presigned"));
    const t = need(target, `${kind}: make it the default ingress target`);
    const state = result.capabilities.ingress_targets.find((x) => x.key === t.key);
    check(state?.state === "applied", `target ${t.name} is ${state?.state ?? "unknown"} on the follower`);
    check(
      result.capabilities.default_target === t.key,
      `default target ${result.capabilities.default_target}`,
    );
    c.note(`protocol ${result.protocol_version}, server ${result.server_version}, ${t.name} applied`);
  });
  await step("clean up", async (c) => {
    c.note(
      await cleanUp(admin(), as, uploaded, found, {
        config,
        kind,
        policy,
        target,
        user,
        group,
        teams,
        teamFiles,
      }),
    );
  });
}
