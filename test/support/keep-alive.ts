// Every test process's fetch lets go of an idle connection after 2 s. workerd closes a keep-alive
// connection once it has sat idle for 5 s, and says nothing of it beforehand (no Keep-Alive header);
// Node's fetch keeps one for 4 s on a timer that a loaded machine fires late, so a request could be
// written on a connection at the moment workerd closed it, and fail with "other side closed" (a
// POST is not retried). 2 s leaves 3 s of margin.
//
// The dispatcher is Node's own fetch's Agent class, made anew with these timeouts: the undici
// package of another version than the one inside Node would check headers its own way (undici 7
// refuses the content-length Node 22's fetch hands it).

export const IDLE_MS = 2_000;
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

type AgentClass = new (options: { keepAliveTimeout: number; keepAliveMaxTimeout: number }) => object;
const slots = globalThis as unknown as Record<symbol, object | undefined>;

// Node publishes its dispatcher once fetch has run.
await fetch("data:,");
const own = slots[GLOBAL_DISPATCHER];
if (!own) throw new Error("Node's fetch published no dispatcher to configure.");
const Agent = own.constructor as AgentClass;
slots[GLOBAL_DISPATCHER] = new Agent({ keepAliveTimeout: IDLE_MS, keepAliveMaxTimeout: IDLE_MS });
