// Owns uploading from the browser: upload sessions (docs/uploads.md), parts cut by the session's chunk size,
// sent three at a time (relay_stream through the primary with a per-part SHA-256, or presigned
// straight to the follower), retried, completed, with a progress bar per file and overall. The task
// list is module state on purpose: it survives page changes inside the console; a reload resumes
// from the session's missing parts with the File kept in IndexedDB (upload-store.ts).
import { ApiError, api, describe } from "./api.ts";
import { formatBytes, h } from "./dom.ts";
import type { PresignedPart, Upload } from "./types.ts";
import { clientId, forgetUpload, recallUpload, rememberUpload } from "./upload-store.ts";

const PARALLEL_PARTS = 3;
const WHOLE_DIGEST_LIMIT = 64 * 1024 * 1024;

interface Task {
  name: string;
  size: number;
  sent: number;
  state: string;
  row: HTMLElement;
  bar: HTMLProgressElement;
  label: HTMLElement;
}

const tasks: Task[] = [];
const list = h("div", { class: "uploads", "aria-label": "Uploads" });
const overallBar = h("progress", { max: 1, value: 0, "aria-label": "Overall upload progress" });
const overallLabel = h("span", { class: "hint" }, "");
const panel = h(
  "section",
  { class: "card", id: "uploads", hidden: true, "aria-labelledby": "uploads-title" },
  h("h2", { id: "uploads-title" }, "Uploads"),
  h("div", { class: "upload-row" }, h("strong", {}, "Overall"), overallLabel, overallBar),
  list,
);
let onChange: () => void = () => undefined;

export function uploadPanel(afterUpload: () => void): HTMLElement {
  onChange = afterUpload;
  return panel;
}

function paint(task: Task): void {
  task.bar.max = Math.max(task.size, 1);
  task.bar.value = task.size === 0 && task.state === "done" ? 1 : task.sent;
  task.label.textContent = `${task.state} · ${formatBytes(task.sent)} of ${formatBytes(task.size)}`;
  const live = tasks.filter((t) => t.state !== "failed");
  const total = live.reduce((n, t) => n + t.size, 0);
  const sent = live.reduce((n, t) => n + t.sent, 0);
  overallBar.max = Math.max(total, 1);
  overallBar.value = total === 0 ? 1 : sent;
  const done = tasks.filter((t) => t.state === "done").length;
  overallLabel.textContent = `${done} of ${tasks.length} files · ${formatBytes(sent)} of ${formatBytes(total)}`;
}

function newTask(name: string, size: number): Task {
  const bar = h("progress", { max: Math.max(size, 1), value: 0, "aria-label": `Upload progress of ${name}` });
  const label = h("span", { class: "hint" });
  const row = h("div", { class: "upload-row", "data-upload": name }, h("span", {}, name), label, bar);
  const task: Task = { name, size, sent: 0, state: "waiting", row, bar, label };
  tasks.push(task);
  list.append(row);
  panel.hidden = false;
  paint(task);
  return task;
}

async function sha256Hex(blob: Blob): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** PUT with upload progress (fetch has none). Resolves with the status and the ETag header. */
function put(url: string, body: Blob, headers: Record<string, string>, progress: (loaded: number) => void) {
  return new Promise<{ status: number; etag: string | null; text: string }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.withCredentials = false;
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => progress(e.loaded);
    xhr.onload = () =>
      resolve({ status: xhr.status, etag: xhr.getResponseHeader("etag"), text: xhr.responseText });
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(body);
  });
}

const retryable = (status: number, text: string) =>
  status >= 500 || status === 0 || text.includes("upload_part_busy");

async function sendParts(upload: Upload, file: File, task: Task): Promise<Map<number, string>> {
  const etags = new Map<number, string>();
  const partSize = (n: number) => Math.min(upload.chunk_size * n, upload.size) - upload.chunk_size * (n - 1);
  const inFlight = new Map<number, number>();
  const baseSent = upload.parts_received.reduce((sum, n) => sum + partSize(n), 0);
  const update = () => {
    task.sent = baseSent + [...inFlight.values()].reduce((a, b) => a + b, 0);
    paint(task);
  };
  const queue = [...upload.missing_parts];
  const sendOne = async (n: number) => {
    const start = (n - 1) * upload.chunk_size;
    const blob = upload.part_count === 1 ? file : file.slice(start, start + partSize(n));
    for (let attempt = 1; ; attempt++) {
      inFlight.set(n, 0);
      let target: { url: string; headers: Record<string, string> };
      if (upload.mode === "presigned") {
        const { urls } = await api<{ urls: PresignedPart[] }>(
          "POST",
          `/api/v1/uploads/${upload.id}/presign`,
          {
            part_numbers: [n],
          },
        );
        const signed = urls[0]!;
        target = { url: signed.url, headers: signed.headers };
      } else {
        target = {
          url: upload.part_url_template!.replace("{n}", String(n)),
          headers: { "x-flotilla-sha256": await sha256Hex(blob) },
        };
      }
      try {
        const res = await put(target.url, blob, target.headers, (loaded) => {
          inFlight.set(n, loaded);
          update();
        });
        if (res.status >= 200 && res.status < 300) {
          if (res.etag) etags.set(n, res.etag);
          inFlight.set(n, blob.size);
          update();
          return;
        }
        if (attempt >= 4 || !retryable(res.status, res.text))
          throw new Error(`part ${n}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      } catch (error) {
        if (attempt >= 4) throw error;
      }
      inFlight.set(n, 0);
      update();
      await new Promise((r) => setTimeout(r, 400 * 2 ** attempt));
    }
  };
  const workers = Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) await sendOne(n);
  });
  await Promise.all(workers);
  return etags;
}

async function finish(upload: Upload, file: File, task: Task): Promise<void> {
  task.state = "uploading";
  paint(task);
  const etags = await sendParts(upload, file, task);
  task.state = "completing";
  paint(task);
  const parts = [...etags].sort(([a], [b]) => a - b).map(([part_number, etag]) => ({ part_number, etag }));
  const body = upload.mode === "presigned" && parts.length === upload.part_count ? { parts } : {};
  for (let attempt = 1; ; attempt++) {
    try {
      await api("POST", `/api/v1/uploads/${upload.id}/complete`, body);
      break;
    } catch (error) {
      const again = error instanceof ApiError && (error.status >= 502 || error.code === "upload_completing");
      if (!again || attempt >= 4) throw error;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
  await forgetUpload(upload.id);
  task.sent = task.size;
  task.state = "done";
  paint(task);
}

async function runTask(task: Task, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    task.state = "failed";
    paint(task);
    task.label.textContent = `failed: ${describe(error)}`;
    task.row.classList.add("failed");
  }
  onChange();
}

let chain: Promise<void> = Promise.resolve();

/** Queues files for upload into a space folder; files go one after another, parts in parallel. */
export function enqueue(space: string, folderId: string | null, files: File[]): void {
  for (const file of files) {
    const task = newTask(file.name, file.size);
    chain = chain.then(() =>
      runTask(task, async () => {
        task.state = "preparing";
        paint(task);
        const upload = await api<Upload>("POST", `/api/v1/spaces/${encodeURIComponent(space)}/uploads`, {
          name: file.name,
          size: file.size,
          folder_id: folderId,
          content_type: file.type || "application/octet-stream",
          client_id: clientId(),
          ...(file.size <= WHOLE_DIGEST_LIMIT ? { sha256: await sha256Hex(file) } : {}),
        });
        await rememberUpload({ id: upload.id, file, space });
        await finish(upload, file, task);
      }),
    );
  }
}

let resumedOnce = false;

/** After a reload: finds this browser's unfinished sessions and continues them (or asks for the file). */
export async function resumeUnfinished(): Promise<void> {
  if (resumedOnce) return;
  resumedOnce = true;
  const { items } = await api<{ items: Upload[] }>(
    "GET",
    `/api/v1/uploads?client_id=${encodeURIComponent(clientId())}`,
  );
  for (const listed of items.filter((u) => u.state === "open")) {
    const task = newTask(listed.name, listed.size);
    const stored = await recallUpload(listed.id);
    const resume = (file: File) => {
      chain = chain.then(() =>
        runTask(task, async () => {
          const fresh = await api<Upload>("GET", `/api/v1/uploads/${listed.id}`);
          task.state = "resuming";
          await finish(fresh, file, task);
        }),
      );
    };
    if (stored) {
      resume(stored.file);
      continue;
    }
    task.state = "needs the file again";
    paint(task);
    const picker = h("input", { type: "file", "aria-label": `Choose ${listed.name} again to resume` });
    picker.addEventListener("change", () => {
      const file = picker.files?.[0];
      if (!file || file.name !== listed.name || file.size !== listed.size) {
        task.label.textContent = `pick the same file (${listed.name}, ${formatBytes(listed.size)})`;
        return;
      }
      picker.remove();
      resume(file);
    });
    const cancel = h(
      "button",
      { type: "button", class: "secondary", "aria-label": `Cancel upload of ${listed.name}` },
      "Cancel",
    );
    cancel.addEventListener("click", async () => {
      await api("DELETE", `/api/v1/uploads/${listed.id}`).catch(() => undefined);
      task.state = "failed";
      task.label.textContent = "cancelled";
      picker.remove();
      cancel.remove();
      paint(task);
    });
    task.row.append(picker, cancel);
  }
}
