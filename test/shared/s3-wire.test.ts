// The S3 wire helpers both sides share: XML text decoded as XML defines it (the five entities and
// numeric character references, one pass), ETags written into a completion body read back unchanged,
// keys percent-encoded per segment.
import { describe, expect, it } from "vitest";
import { completeMultipartXml, decodeXmlText, encodeKey, xmlField } from "../../shared/s3-wire.ts";

describe("S3 wire helpers", () => {
  it("decodes the five XML entities in a field", () => {
    expect(xmlField("<Key>a&amp;b&quot;c&apos;d&lt;e&gt;f</Key>", "Key")).toBe(`a&b"c'd<e>f`);
  });

  it("decodes numeric character references, as Go's encoder (MinIO) writes quotes", () => {
    expect(xmlField("<ETag>&#34;9b2cf535f27731c974343645a3985328-2&#34;</ETag>", "ETag")).toBe(
      '"9b2cf535f27731c974343645a3985328-2"',
    );
    expect(decodeXmlText("&#x22;&#X22;&#x26;&#38;&#x1F600;")).toBe('"&#X22;&&\u{1F600}');
  });

  it("decodes in one pass, so an escaped entity stays an entity", () => {
    expect(decodeXmlText("&amp;quot; &amp;#34; &amp;amp;")).toBe("&quot; &#34; &amp;");
  });

  it("leaves references to characters XML does not allow as written", () => {
    expect(decodeXmlText("&#0;&#xD800;&#x110000;&#xFFFE;&unknown;")).toBe(
      "&#0;&#xD800;&#x110000;&#xFFFE;&unknown;",
    );
  });

  it("answers null for a missing field and an empty string for an empty one", () => {
    expect(xmlField("<UploadId>x</UploadId>", "Code")).toBeNull();
    expect(xmlField("<ETag></ETag>", "ETag")).toBe("");
  });

  it("round-trips ETags with &, quotes and angle brackets through a completion body", () => {
    const etags = ['"d41d8cd98f00b204e9800998ecf8427e"', '"a&b"', "<x>&amp;"];
    const xml = completeMultipartXml(etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    expect(xml).not.toContain('"a&b"');
    const read = [...xml.matchAll(/<Part>.*?<\/Part>/g)].map((m) => xmlField(m[0], "ETag"));
    expect(read).toEqual(etags);
  });

  it("percent-encodes each key segment with RFC 3986's reserved characters, keeping '/'", () => {
    expect(encodeKey("a b/c!'()*/d+e=f@g,h~i_j-k.l")).toBe(
      "a%20b/c%21%27%28%29%2A/d%2Be%3Df%40g%2Ch~i_j-k.l",
    );
  });
});
