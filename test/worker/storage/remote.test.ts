// The storage conformance suite against the `remote` driver: a REAL agent process enrolled with the
// primary, reached through driverForPolicy (the factory uploads use), once with a local ingress target
// and once with an s3 ingress target on s3rver; then the driver and the signed client run inside workerd.
import { eq } from "drizzle-orm";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import {
  enrollmentTokenSchema,
  nodeEditedSchema,
  nodeSchema,
  testResultSchema,
} from "../../../worker/api/nodes.ts";
import { policySchema } from "../../../worker/api/policies.ts";
import { followerNodes, storagePolicies } from "../../../worker/db/schema.ts";
import { secretContext } from "../../../worker/followers/client.ts";
import { decryptSecret } from "../../../worker/secrets.ts";
import { driverForPolicy } from "../../../worker/storage/factory.ts";
import { startAgentProcess } from "../../support/agents.ts";
import { startPrimary, TEST_SECRET } from "../../support/http-primary.ts";
import { S3RVER_KEY, startS3rver } from "../../support/s3rver.ts";
import { describeDriverConformance } from "./conformance.ts";
import { startWorkerdDriver } from "./workerd-driver.ts";

async function remoteTarget(target: "local" | "s3", runtime: "node" | "workerd" = "node") {
  const primary = await startPrimary();
  const s3 = target === "s3" ? await startS3rver(["remote"]) : null;
  const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: `remote-${target}` });
  const path = `/api/v1/admin/nodes/${node.id}`;
  const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
  const agent = await startAgentProcess({ primaryUrl: primary.origin, token });
  await primary.ok(nodeEditedSchema, "PATCH", path, { base_url: agent.baseUrl });
  await primary.ok(testResultSchema, "POST", `${path}/test`, undefined, 200);
  const spec = s3
    ? {
        name: "s3",
        driver: "s3",
        base_path: "objects",
        s3: {
          endpoint: s3.endpoint,
          bucket: "remote",
          access_key_id: S3RVER_KEY.accessKeyId,
          secret_access_key: "x",
        },
      }
    : { name: "local", driver: "local", base_path: "default" };
  const created = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, spec);
  if (created.state !== "applied")
    throw new Error(`target not applied: ${created.reason}\n${agent.output()}`);
  const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
    name: `remote policy ${target}`,
    driver: "remote",
    node_id: node.id,
    key_prefix: "conformance",
  });
  const [row] = await primary.db.select().from(storagePolicies).where(eq(storagePolicies.id, policy.id));
  const [nodeRow] = await primary.db.select().from(followerNodes).where(eq(followerNodes.id, node.id));
  const inside =
    runtime === "workerd"
      ? await startWorkerdDriver({
          kind: "remote",
          baseUrl: agent.baseUrl,
          keyId: nodeRow!.keyId!,
          secret: await decryptSecret(TEST_SECRET, nodeRow!.secretEnc!, secretContext(node.id)),
        })
      : null;
  const driver = inside ? inside.driver : await driverForPolicy(primary.services(), row!);
  return {
    driver,
    async stop() {
      await inside?.stop();
      await agent.destroy();
      await s3?.stop();
      await primary.close();
    },
  };
}

describeDriverConformance("remote on a real agent, local ingress target", () => remoteTarget("local"));
describeDriverConformance("remote on a real agent, s3 ingress target on s3rver", () => remoteTarget("s3"));
describeDriverConformance("remote on a real agent, the driver and signed client inside workerd", () =>
  remoteTarget("local", "workerd"),
);
