// Owns what the primary tells a Prometheus scraper: per follower node its state (enabled, enrollment,
// the last probe's result and age, protocol, capacity per ingress target from that probe) and per
// storage policy its counts (files and bytes, uploads in flight, cleanups still owed). Two queries
// per scrape, whatever the number of nodes and policies: the node rows, and one aggregate.
import { sql } from "drizzle-orm";
import { enrollmentStatus } from "../api/nodes.ts";
import { storedCapabilities } from "../db/probes.ts";
import { followerNodes } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { MetricFamily, MetricSample } from "./exposition.ts";

interface PolicyCounts {
  id: string;
  name: string;
  driver: string;
  files: number;
  bytes: number;
  uploads_in_flight: number;
  cleanups_owed: number;
}

/** Files (trashed ones still hold their bytes), open or completing uploads, and owed storage cleanups:
 * purged objects not yet deleted plus ended uploads whose multipart abort or object delete is pending. */
async function policyCounts(services: Services): Promise<PolicyCounts[]> {
  return services.db.all<PolicyCounts>(sql`
    select p.id as id, p.name as name, p.driver as driver,
      coalesce(f.files, 0) as files, coalesce(f.bytes, 0) as bytes,
      coalesce(u.in_flight, 0) as uploads_in_flight,
      coalesce(u.cleanups, 0) + coalesce(d.cleanups, 0) as cleanups_owed
    from storage_policies p
    left join (select policy_id, count(*) as files, sum(size) as bytes from files group by policy_id) f
      on f.policy_id = p.id
    left join (
      select policy_id,
        sum(case when state in ('open', 'completing') then 1 else 0 end) as in_flight,
        sum(case when cleanup_pending = 1 then 1 else 0 end) as cleanups
      from upload_sessions group by policy_id
    ) u on u.policy_id = p.id
    left join (select policy_id, count(*) as cleanups from pending_object_deletions group by policy_id) d
      on d.policy_id = p.id
    order by p.name`);
}

function gauge(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name, help, type: "gauge", samples };
}

export async function primaryMetrics(services: Services): Promise<MetricFamily[]> {
  const [nodes, policies] = await Promise.all([
    services.db.select().from(followerNodes).orderBy(followerNodes.name),
    policyCounts(services),
  ]);
  const now = services.now();
  const ageSeconds = (at: Date) => Math.max(0, (now.getTime() - at.getTime()) / 1000);
  const info: MetricSample[] = [];
  const enabled: MetricSample[] = [];
  const probeOk: MetricSample[] = [];
  const probeAge: MetricSample[] = [];
  const goodProbeAge: MetricSample[] = [];
  const freeBytes: MetricSample[] = [];
  const totalBytes: MetricSample[] = [];
  for (const node of nodes) {
    const labels = { node: node.id };
    const last = storedCapabilities(node.lastProbeJson);
    // Protocol and capacity are what the node said last; a failed probe keeps the last good answer.
    const known = last ?? storedCapabilities(node.lastGoodProbeJson);
    info.push({
      labels: {
        ...labels,
        name: node.name,
        enrollment: enrollmentStatus(node, now),
        protocol: known?.protocol ?? "",
        server_version: known?.server_version ?? "",
      },
      value: 1,
    });
    enabled.push({ labels, value: node.enabled ? 1 : 0 });
    if (node.lastProbeAt) {
      probeOk.push({ labels, value: node.lastProbeError === null && last !== null ? 1 : 0 });
      probeAge.push({ labels, value: ageSeconds(node.lastProbeAt) });
    }
    if (node.lastGoodProbeAt) goodProbeAge.push({ labels, value: ageSeconds(node.lastGoodProbeAt) });
    for (const target of known?.ingress_targets ?? []) {
      const targetLabels = { ...labels, target: target.key };
      if (target.free_bytes !== null) freeBytes.push({ labels: targetLabels, value: target.free_bytes });
      if (target.total_bytes !== null) totalBytes.push({ labels: targetLabels, value: target.total_bytes });
    }
  }
  const byPolicy = (pick: (row: PolicyCounts) => number): MetricSample[] =>
    policies.map((row) => ({ labels: { policy: row.id }, value: Number(pick(row)) }));
  return [
    gauge(
      "flotilla_primary_node_info",
      "A follower node: its name, enrollment status, and the protocol and agent version it last reported.",
      info,
    ),
    gauge("flotilla_primary_node_enabled", "1 when the node is enabled for storage, else 0.", enabled),
    gauge(
      "flotilla_primary_node_probe_ok",
      "1 when the node's last probe answered and was compatible, else 0 (absent until first probed).",
      probeOk,
    ),
    gauge("flotilla_primary_node_probe_age_seconds", "Seconds since the node's last probe.", probeAge),
    gauge(
      "flotilla_primary_node_good_probe_age_seconds",
      "Seconds since the node's last probe that answered and was compatible.",
      goodProbeAge,
    ),
    gauge(
      "flotilla_primary_node_target_free_bytes",
      "Free bytes of an ingress target as the node's last answering probe reported it.",
      freeBytes,
    ),
    gauge(
      "flotilla_primary_node_target_total_bytes",
      "Total bytes of an ingress target as the node's last answering probe reported it.",
      totalBytes,
    ),
    gauge(
      "flotilla_primary_policy_info",
      "A storage policy: its name and driver.",
      policies.map((row) => ({ labels: { policy: row.id, name: row.name, driver: row.driver }, value: 1 })),
    ),
    gauge(
      "flotilla_primary_policy_files",
      "Files stored through the policy, trashed ones included.",
      byPolicy((r) => r.files),
    ),
    gauge(
      "flotilla_primary_policy_bytes",
      "Bytes of those files.",
      byPolicy((r) => r.bytes),
    ),
    gauge(
      "flotilla_primary_policy_uploads_in_flight",
      "Upload sessions open or completing on the policy.",
      byPolicy((r) => r.uploads_in_flight),
    ),
    gauge(
      "flotilla_primary_policy_cleanups_owed",
      "Storage cleanups still owed on the policy: purged objects not yet deleted and ended uploads not yet aborted.",
      byPolicy((r) => r.cleanups_owed),
    ),
  ];
}
