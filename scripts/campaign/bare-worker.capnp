# A bare worker for `workerd serve`, to see what workerd itself keeps per request (docs/memory.md):
#   node_modules/.bin/workerd serve scripts/campaign/bare-worker.capnp
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "bare", worker = .bare)],
  sockets = [(name = "http", address = "127.0.0.1:8790", http = (), service = "bare")],
);

const bare :Workerd.Worker = (
  modules = [(name = "bare-worker.js", esModule = embed "bare-worker.js")],
  compatibilityDate = "2024-09-23",
);
