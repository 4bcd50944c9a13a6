/**
 * A TCP proxy in front of a shared service, for outage tests: the services themselves must never
 * be stopped (other tests use them), but from the client's side a proxy that cuts its connections
 * is exactly an outage.
 *
 * `down("refuse")` closes every connection and stops listening (new connections are refused, as
 * when the server is stopped); `down("blackhole")` closes every connection and accepts new ones
 * without ever answering (as when the host is unreachable: clients time out); `down("freeze")`
 * keeps every connection open and passes nothing either way (a partition in the middle of a
 * call: a client without a read timeout waits forever). `up()` forwards
 * again on the same port. `await using` closes it.
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import { connect } from "node:net";

export type Outage = "refuse" | "blackhole" | "freeze";

export interface Proxy {
  readonly port: number;
  /** host:port of the proxy. */
  readonly address: string;
  /** Whether it forwards. */
  readonly isUp: boolean;
  /** Connections accepted since the start (forwarded or held). */
  readonly accepted: number;
  down(mode?: Outage): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let mode: "up" | Outage = "up";
  let accepted = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    accepted++;
    track(client);
    if (mode !== "up") return; // blackhole, freeze: held open, never answered
    const upstream = connect(target);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on("close", () => (upstream.destroy(), pairs.delete(pair)));
    upstream.on("close", () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => server.listening ? server.close(() => resolve()) : resolve());
  const cut = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };

  await listen(0);
  const port = (server.address() as { port: number }).port;
  const proxy: Proxy = {
    port,
    address: `127.0.0.1:${port}`,
    get isUp() {
      return mode === "up";
    },
    get accepted() {
      return accepted;
    },
    async down(how: Outage = "refuse") {
      mode = how;
      if (how === "freeze") {
        // Connections stay open, nothing passes either way: a network partition mid-call.
        for (const [client, upstream] of pairs) {
          client.unpipe(upstream), upstream.unpipe(client), client.pause(), upstream.pause();
        }
        return;
      }
      const closed = how === "refuse" ? stopListening() : Promise.resolve();
      cut();
      await closed;
    },
    async up() {
      cut(); // held (blackholed) connections end: their clients reconnect through the proxy
      mode = "up";
      if (!server.listening) await listen(port);
    },
    async close() {
      mode = "refuse";
      const closed = stopListening();
      cut();
      await closed;
    },
    [Symbol.asyncDispose]: () => proxy.close(),
  };
  return proxy;
}
