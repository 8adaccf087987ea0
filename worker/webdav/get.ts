// Owns WebDAV GET and HEAD. A file is served like a download from the API (ranges, strong ETag,
// If-None-Match, If-Range) but always relayed through the primary: generic WebDAV clients are not
// known to follow a redirect to a presigned storage URL. HEAD answers from the record alone, without
// touching the storage. A collection answers a small HTML index of its members.
import { notFound } from "../../shared/errors.ts";
import { entityTag, reprDigest, STORED_BYTES_HEADERS } from "../files/http-headers.ts";
import { SANDBOX_CSP, serveFile } from "../files/serve.ts";
import type { DavContext } from "./context.ts";
import { href, TEAM_SPACES } from "./paths.ts";
import { children, myTeams } from "./resources.ts";
import { escapeXml } from "./xml.ts";

export async function get(ctx: DavContext): Promise<Response> {
  const { request, services, resource } = ctx;
  if (resource.type === "missing") throw notFound("resource");
  if (resource.type === "file") {
    const file = resource.file;
    if (request.method === "HEAD") {
      return new Response(null, {
        headers: {
          etag: entityTag(file.sha256),
          "accept-ranges": "bytes",
          "repr-digest": reprDigest(file.sha256),
          "last-modified": file.updatedAt.toUTCString(),
          "content-type": file.contentType,
          "content-length": String(file.size),
          ...STORED_BYTES_HEADERS,
        },
      });
    }
    return serveFile(services, request, file, {
      disposition: "attachment",
      mode: "relay",
      redirect: false,
      lastModified: file.updatedAt,
    });
  }
  const links: { name: string; collection: boolean }[] = [];
  if (resource.type === "teams") {
    for (const team of await myTeams(services, ctx.user))
      links.push({ name: team.segment, collection: true });
  } else {
    const folderId = resource.type === "root" ? null : resource.folder.id;
    const members = await children(services, resource.loc.space, folderId);
    if (resource.type === "root" && resource.loc.space.kind === "user") {
      if ((await myTeams(services, ctx.user)).length > 0) links.push({ name: TEAM_SPACES, collection: true });
    }
    const shadowed = (name: string) =>
      resource.type === "root" && resource.loc.space.kind === "user" && name === TEAM_SPACES;
    for (const f of members.folders) if (!shadowed(f.name)) links.push({ name: f.name, collection: true });
    for (const f of members.files) if (!shadowed(f.name)) links.push({ name: f.name, collection: false });
  }
  const base = resource.loc.names;
  const items = links
    .map(
      (l) =>
        `<li><a href="${escapeXml(href([...base, l.name], l.collection))}">${escapeXml(l.name)}${l.collection ? "/" : ""}</a></li>`,
    )
    .join("");
  const title = escapeXml(href(base, true));
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><ul>${items}</ul>`;
  return new Response(request.method === "HEAD" ? null : html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": SANDBOX_CSP,
      "cache-control": "private, no-cache",
    },
  });
}
