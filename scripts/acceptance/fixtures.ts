// Owns the files the walk uploads, generated in code: random bytes, a valid PNG (real chunks with
// CRCs and zlib data) and a valid one-page PDF (with a correct xref table), plus their SHA-256.
import { createHash, randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";

export interface Fixture {
  name: string;
  contentType: string;
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
}

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

function fixture(name: string, contentType: string, data: Buffer): Fixture {
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(data);
  return { name, contentType, bytes, sha256: sha256(bytes) };
}

export function randomFile(name: string, size: number): Fixture {
  return fixture(name, "application/octet-stream", randomBytes(size));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A 16x16 RGB gradient PNG. */
export function pngFile(name: string): Fixture {
  const size = 16;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit depth, truecolour, deflate, no filter, no interlace
  const rows: number[] = [];
  for (let y = 0; y < size; y++) {
    rows.push(0); // filter type None
    for (let x = 0; x < size; x++) rows.push(x * 16, y * 16, 128);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return fixture(
    name,
    "image/png",
    Buffer.concat([
      signature,
      pngChunk("IHDR", header),
      pngChunk("IDAT", deflateSync(Buffer.from(rows))),
      pngChunk("IEND", Buffer.alloc(0)),
    ]),
  );
}

/** A one-page PDF saying `text`, with byte offsets in its xref table computed, not guessed. */
export function pdfFile(name: string, text: string): Fixture {
  const content = `BT /F1 18 Tf 40 120 Td (${text.replace(/[()\\]/g, "")}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(out.length);
    out += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return fixture(name, "application/pdf", Buffer.from(out, "latin1"));
}
