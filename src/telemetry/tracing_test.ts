import assert from "node:assert/strict";
import { join } from "node:path";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { loadSpec } from "../compiler/mod.ts";
import { compile, run } from "../runtime/mod.ts";
import { createTelemetry, STAGES } from "./mod.ts";
import { createTracer, parseTraceparent, producerContext, tracesUrl } from "./tracing.ts";
import { rememberSecret } from "../core/secrets.ts";

const root = new URL("../..", import.meta.url).pathname;

Deno.test("parseTraceparent() reads W3C traceparent values and rejects invalid ones", () => {
  assert.deepEqual(parseTraceparent("00-22b9d171c3ca0f838a654e61a49cb949-bea4116b3caf2d23-01"), {
    traceId: "22b9d171c3ca0f838a654e61a49cb949",
    spanId: "bea4116b3caf2d23",
    traceFlags: 1,
    isRemote: true,
  });
  assert.equal(
    parseTraceparent("00-22B9D171C3CA0F838A654E61A49CB949-BEA4116B3CAF2D23-00")?.traceId,
    "22b9d171c3ca0f838a654e61a49cb949",
  );
  // A later version may append fields; version 00 may not.
  assert.ok(parseTraceparent("01-22b9d171c3ca0f838a654e61a49cb949-bea4116b3caf2d23-01-extra"));
  for (
    const bad of [
      "00-22b9d171c3ca0f838a654e61a49cb949-bea4116b3caf2d23-01-extra",
      "ff-22b9d171c3ca0f838a654e61a49cb949-bea4116b3caf2d23-01",
      "00-00000000000000000000000000000000-bea4116b3caf2d23-01",
      "00-22b9d171c3ca0f838a654e61a49cb949-0000000000000000-01",
      "00-22b9d171c3ca0f838a654e61a49cb94-bea4116b3caf2d23-01",
      "",
      42,
      undefined,
    ]
  ) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
});

Deno.test("producerContext() prefers traceparent, then trace_id + span_id, then a header", () => {
  const tp = "00-11111111111111111111111111111111-2222222222222222-01";
  const ids = { trace_id: "33333333333333333333333333333333", span_id: "4444444444444444" };
  const header = { traceparent: "00-55555555555555555555555555555555-6666666666666666-01" };
  assert.equal(producerContext({ traceparent: tp, ...ids }, header)?.spanId, "2222222222222222");
  assert.equal(producerContext(ids, header)?.spanId, "4444444444444444");
  assert.equal(producerContext({}, header)?.spanId, "6666666666666666");
  assert.equal(producerContext({ trace_id: "xyz", span_id: "4444444444444444" }), undefined);
});

Deno.test("tracesUrl() appends /v1/traces to a base OTLP endpoint once", () => {
  assert.equal(tracesUrl("http://127.0.0.1:4318"), "http://127.0.0.1:4318/v1/traces");
  assert.equal(tracesUrl("http://jaeger:4318/"), "http://jaeger:4318/v1/traces");
  assert.equal(tracesUrl("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
});

/** trace id → span ids of the producer spans named by the samples' traceparent fields. */
async function sampleProducerSpans(): Promise<Map<string, Set<string>>> {
  const spans = new Map<string, Set<string>>();
  const text = await Deno.readTextFile(join(root, "samples/events.jsonl"));
  for (const line of text.split("\n")) {
    const m = /"traceparent":"00-([0-9a-f]{32})-([0-9a-f]{16})-/.exec(line);
    if (!m) continue;
    if (!spans.has(m[1])) spans.set(m[1], new Set());
    spans.get(m[1])!.add(m[2]);
  }
  return spans;
}

Deno.test("a traced run has a batch span, a span per stage, and links to the producers' spans", async () => {
  const { spec, errors } = await loadSpec(join(root, "pipeline.yaml"));
  assert.ok(spec, JSON.stringify(errors));
  const exporter = new InMemorySpanExporter();
  const pipeline = await compile(spec, {
    stateDir: await Deno.makeTempDir({ prefix: "ics-trace-" }),
    spanExporter: exporter,
  });
  try {
    assert.equal(pipeline.tracer.enabled, true);
    await run(pipeline);
    const spans = exporter.getFinishedSpans();
    const batches = spans.filter((s) => s.name === "batch");
    assert.equal(batches.length, 1); // the samples fit in one batch
    const [batch] = batches;
    assert.equal(batch.attributes["messaging.batch.message_count"], 351);
    assert.equal(batch.parentSpanContext, undefined); // a root: one trace per batch

    // One child span per stage, in the batch's trace.
    const children = spans.filter((s) => s !== batch);
    assert.deepEqual(children.map((s) => s.name).sort(), [...STAGES].sort());
    for (const s of children) {
      assert.equal(s.spanContext().traceId, batch.spanContext().traceId, s.name);
      assert.equal(s.parentSpanContext?.spanId, batch.spanContext().spanId, s.name);
    }

    // Every link points at a producer span taken from an event's traceparent, and every
    // producer span of a decoded sample event is linked.
    const producers = await sampleProducerSpans();
    assert.ok(producers.has("22b9d171c3ca0f838a654e61a49cb949"));
    const linked = new Map<string, Set<string>>();
    for (const link of batch.links) {
      const { traceId, spanId } = link.context;
      assert.ok(producers.get(traceId)?.has(spanId), `unknown producer span ${traceId}/${spanId}`);
      if (!linked.has(traceId)) linked.set(traceId, new Set());
      linked.get(traceId)!.add(spanId);
      assert.equal(typeof link.attributes?.["ics.event_id"], "string");
    }
    assert.deepEqual([...linked.keys()].sort(), [...producers.keys()].sort());
    assert.ok(linked.get("22b9d171c3ca0f838a654e61a49cb949")!.has("bea4116b3caf2d23"));
    assert.ok(batch.links.length > 100, `only ${batch.links.length} links`);
    assert.equal(batch.droppedLinksCount, 0);
  } finally {
    await pipeline.close();
  }
});

Deno.test({
  name: "with tracing enabled in the spec, spans reach an OTLP/HTTP collector",
  sanitizeOps: false, // the exporter's HTTP agent may keep a socket briefly after shutdown
  sanitizeResources: false,
  async fn() {
    const bodies: string[] = [];
    const collector = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      async (r) => {
        bodies.push(`${new URL(r.url).pathname} ${await r.text()}`);
        return new Response("{}", { headers: { "content-type": "application/json" } });
      },
    );
    try {
      const { spec, errors } = await loadSpec(join(root, "pipeline.yaml"));
      assert.ok(spec, JSON.stringify(errors));
      spec.spec.observability.tracing = {
        enabled: true,
        otlp_endpoint: `http://127.0.0.1:${collector.addr.port}`,
        service_name: "ics-test",
        sample_ratio: 1,
      };
      const pipeline = await compile(spec, {
        stateDir: await Deno.makeTempDir({ prefix: "ics-otlp-" }),
      });
      await run(pipeline);
      await pipeline.close(); // flushes the batching span processor
      const sent = bodies.join("\n");
      assert.match(sent, /^\/v1\/traces /);
      assert.match(sent, /ics-test/);
      assert.match(sent, /22b9d171c3ca0f838a654e61a49cb949/); // a producer's trace id, linked
      assert.match(sent, /"name":"write_graph"/);
    } finally {
      await collector.shutdown();
    }
  },
});

Deno.test("a failed batch's span carries the error without the secrets it quoted", async () => {
  const secret = `s3cr3t-${crypto.randomUUID()}`;
  rememberSecret(secret);
  const exporter = new InMemorySpanExporter();
  const tracer = createTracer(createTelemetry(), { exporter });
  const trace = tracer.batch(1);
  trace.end(new Error(`Postgres at "postgres://ics:pw-in-url@db/x" refused ${secret}`));
  const [span] = exporter.getFinishedSpans();
  await tracer.close();
  assert.ok(span, "the batch span was exported");
  const text = JSON.stringify({ status: span.status, events: span.events });
  assert.match(text, /postgres:\/\/ics:\*\*\*@db\/x/);
  assert.ok(!text.includes(secret) && !text.includes("pw-in-url"), text);
});
