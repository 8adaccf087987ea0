// Owns the friendly port check: a taken port becomes one clear sentence instead of a stack trace.
import { createServer } from "node:net";

export class PortInUseError extends Error {}

export async function assertPortFree(
  host: string,
  port: number,
  what: string,
  envName: string,
): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolvePromise, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" || error.code === "EACCES") {
        reject(
          new PortInUseError(
            `Port ${port} on ${host} (${what}) is already in use. Stop whatever uses it, or pick another: ${envName}=<port> npm start`,
          ),
        );
      } else reject(error);
    });
    server.listen(port, host, () => server.close(() => resolvePromise()));
  });
}
