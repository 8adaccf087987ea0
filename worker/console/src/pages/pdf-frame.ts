// Owns showing a PDF preview: the bytes are fetched and shown from a blob: URL whose type the console
// fixes to application/pdf. Framing the preview endpoint directly does not work in Chromium: its
// `sandbox` CSP makes the browser refuse to run the PDF viewer in a sandboxed document.
import { describe, readError } from "../api.ts";
import { announce, h } from "../dom.ts";

export function pdfFrame(url: string, title: string): HTMLIFrameElement {
  const frame = h("iframe", { title });
  void fetch(url, { credentials: "same-origin" })
    .then(async (response) => {
      if (!response.ok) throw await readError(response);
      const blob = new Blob([await response.arrayBuffer()], { type: "application/pdf" });
      frame.src = URL.createObjectURL(blob);
      frame.dataset.loaded = "true";
    })
    .catch((error) => announce(describe(error), "error"));
  return frame;
}
