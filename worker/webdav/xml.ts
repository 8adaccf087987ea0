// Owns WebDAV's XML: reading a request body (at most MAX_XML_BODY_BYTES, UTF-8, no DTD at all, so no
// entity is ever declared, let alone expanded or fetched) into a namespace-aware DOM with
// @xmldom/xmldom, and writing answers (multistatus, propstat, error bodies) as escaped text. The
// parser runs in workerd and Node alike and never performs I/O.
import { DOMParser, type Element, type Node, XMLSerializer } from "@xmldom/xmldom";
import { AppError } from "../../shared/errors.ts";

export const DAV_NS = "DAV:";
/** Request bodies of PROPFIND, PROPPATCH and LOCK are refused above this size (413). */
export const MAX_XML_BODY_BYTES = 1024 * 1024;

export type XmlElement = Element;

/** The body's root element, or null for an empty body. Malformed or hostile XML is 400. */
export async function readXml(request: Request): Promise<XmlElement | null> {
  const text = await readBody(request);
  if (text.trim() === "") return null;
  // A DTD is never needed by WebDAV: refusing it outright rules out entity expansion and external
  // entities whatever the parser would do with them.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new AppError("bad_request", "XML bodies with a document type declaration are not accepted.");
  }
  let root: Element | null = null;
  try {
    const parser = new DOMParser({
      onError: (level, message) => {
        if (level !== "warning") throw new Error(message);
      },
    });
    root = parser.parseFromString(text, "text/xml").documentElement;
  } catch {
    throw new AppError("bad_request", "The request body is not well-formed XML.");
  }
  if (!root) throw new AppError("bad_request", "The request body is not well-formed XML.");
  return root;
}

async function readBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_XML_BODY_BYTES) {
    await request.body?.cancel();
    throw new AppError("payload_too_large", `XML bodies are limited to ${MAX_XML_BODY_BYTES} bytes.`);
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_XML_BODY_BYTES) {
      await reader.cancel();
      throw new AppError("payload_too_large", `XML bodies are limited to ${MAX_XML_BODY_BYTES} bytes.`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new AppError("bad_request", "The request body is not UTF-8.");
  }
}

/** The element children of `el`, in document order. */
export function childElements(el: Element): Element[] {
  const out: Element[] = [];
  for (let node = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1) out.push(node as Element);
  }
  return out;
}

export function isDav(el: Element, localName: string): boolean {
  return el.namespaceURI === DAV_NS && el.localName === localName;
}

/** The first DAV child named `localName`, if any. */
export function davChild(el: Element, localName: string): Element | undefined {
  return childElements(el).find((child) => isDav(child, localName));
}

/** An element as text, with the namespace declarations it needs to stand alone. */
export function serialize(node: Node): string {
  return new XMLSerializer().serializeToString(node);
}

/** The content of `el` (children, text included) as XML text. */
export function innerXml(el: Element): string {
  let out = "";
  for (let node = el.firstChild; node; node = node.nextSibling) out += serialize(node);
  return out;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const REASONS: Record<number, string> = {
  200: "OK",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  423: "Locked",
  424: "Failed Dependency",
  507: "Insufficient Storage",
};

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? ""}`.trimEnd();
}

/** An empty element for a property name: `<x:name xmlns:x="ns"/>`, or `<name xmlns=""/>`. */
export function emptyElement(namespace: string, name: string): string {
  if (namespace === DAV_NS) return `<D:${name}/>`;
  if (namespace === "") return `<${name} xmlns=""/>`;
  return `<x:${name} xmlns:x="${escapeXml(namespace)}"/>`;
}

const XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n';

export function xmlResponse(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(`${XML_HEAD}${body}`, {
    status,
    headers: { "content-type": "application/xml; charset=utf-8", ...headers },
  });
}

/** One `<D:response>` of a multistatus: an href with propstat groups or a status of its own. */
export function responseElement(href: string, inner: string): string {
  return `<D:response><D:href>${escapeXml(href)}</D:href>${inner}</D:response>`;
}

export function propstat(props: string[], status: number): string {
  return `<D:propstat><D:prop>${props.join("")}</D:prop><D:status>${statusLine(status)}</D:status></D:propstat>`;
}

export function multistatus(responses: string[]): Response {
  return xmlResponse(`<D:multistatus xmlns:D="DAV:">${responses.join("")}</D:multistatus>`, 207);
}
