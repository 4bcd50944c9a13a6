// usage: deno run -A /tmp/exp/store_vs_peer.ts ROOT N
const root = Deno.args[0], N = Number(Deno.args[1] ?? 30000);
const { loadSpec } = await import("../src/spec/mod.ts");
const { corpus, toJsonl } = await import("./corpus.ts");
const u = await import("./_services_unwind.ts");
const { default: neo4j } = await import("neo4j-driver");
const { spec } = await loadSpec(`${root}/pipeline.yaml`);
const enc = new TextEncoder();
const seed = 7000 + Math.floor(Math.random() * 1000);
const lines: Uint8Array[] = [];
for (const e of corpus({ iterations: Math.ceil(N / 250), seed })) {
  if (lines.length >= N) break;
  lines.push(enc.encode(toJsonl(e).trimEnd()));
}
const model = await u.changesOf(spec, lines);
const versions = model.batches.reduce((a: number, b: any) => a + b.opened.length + b.closed.length, 0);
const driver = neo4j.driver("bolt://127.0.0.1:7687");
const run = `x${Date.now().toString(36)}`;
let peer: any;
if (u.peerSink) {
  peer = await u.peerSink(driver, run, spec, lines);
  await u.dropPeer(driver, run, spec);
}
const storeMs = await u.storeWrite("bolt://127.0.0.1:7687", model.batches);
// cleanup iterations written
const its = [...new Set(model.batches.flatMap((b: any) => b.opened.map((v: any) => v.iteration_id)))];
const s = driver.session();
await s.run(`MATCH (e:Entity) WHERE e.iteration_id IN $its CALL (e) { OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(e) DETACH DELETE v, e } IN TRANSACTIONS OF 1000 ROWS`, { its });
await s.close();
await driver.close();
console.log(JSON.stringify({ events: lines.length, versions_per_event: +(versions / lines.length).toFixed(2), store_ev_s: Math.round(lines.length / (storeMs / 1000)), peer_ev_s: peer ? Math.round(peer.events / (peer.ms / 1000)) : null }));
