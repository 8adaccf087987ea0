// The bare worker of bare-worker.capnp: answers every request with "ok" and keeps nothing.
export default {
  fetch() {
    return new Response("ok");
  },
};
