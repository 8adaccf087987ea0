// Runs the one storage conformance suite against every driver on real backends: s3 on s3rver (path
// style) and primary on Miniflare's R2, the driver itself running inside workerd. The remote driver joins in remote.test.ts.
import { createS3Driver } from "../../../worker/storage/s3.ts";
import { S3RVER_KEY, startS3rver } from "../../support/s3rver.ts";
import { describeDriverConformance } from "./conformance.ts";
import { startWorkerdDriver } from "./workerd-driver.ts";

describeDriverConformance("s3 on s3rver", async () => {
  const s3 = await startS3rver(["conformance"]);
  const driver = createS3Driver({
    endpoint: s3.endpoint,
    region: "us-east-1",
    bucket: "conformance",
    pathStyle: true,
    ...S3RVER_KEY,
  });
  return { driver, stop: s3.stop, abortMultipartRefusedWith: "MethodNotAllowed" };
});

describeDriverConformance("primary (R2 binding) inside workerd via Miniflare", () => startWorkerdDriver());

describeDriverConformance("s3 on s3rver, the driver inside workerd", async () => {
  const s3 = await startS3rver(["workerd"]);
  const inside = await startWorkerdDriver({
    kind: "s3",
    config: { endpoint: s3.endpoint, region: "us-east-1", bucket: "workerd", pathStyle: true, ...S3RVER_KEY },
  });
  return {
    driver: inside.driver,
    abortMultipartRefusedWith: "MethodNotAllowed",
    // From workerd the aborted PUT reaches s3rver after its headers; s3rver then stores the fragment.
    keepsAbortedUploads: true,
    async stop() {
      await inside.stop();
      await s3.stop();
    },
  };
});
