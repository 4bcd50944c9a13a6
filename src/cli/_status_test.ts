import assert from "node:assert/strict";
import { formatStatus, rateMeter, statusLine } from "./_status.ts";
import { createTelemetry } from "../telemetry/mod.ts";

Deno.test("formatStatus() shows events, rate, lag, links and dead letters on one line", () => {
  assert.equal(
    formatStatus({
      elapsed_ms: 3456,
      events: 12_345,
      rate: 3210.4,
      lag: 1204,
      links: 65,
      dead_letters: 6,
    }),
    "ics ▸ 12,345 events · 3,210/s · lag 1,204 · 65 links · 6 dead letters · 3.5 s",
  );
});

Deno.test("formatStatus() leaves out the lag a file source does not report, and says 1 dead letter", () => {
  assert.equal(
    formatStatus({ elapsed_ms: 100, events: 1, rate: 0, links: 0, dead_letters: 1 }),
    "ics ▸ 1 events · 0/s · 0 links · 1 dead letter · 0.1 s",
  );
});

Deno.test("formatStatus() fits the terminal width", () => {
  const line = formatStatus(
    { elapsed_ms: 1, events: 1e9, rate: 1e6, lag: 1e9, links: 1e9, dead_letters: 1e9 },
    40,
  );
  assert.equal(line.length, 39);
  assert.ok(line.endsWith("…"));
});

Deno.test("rateMeter() measures events per second over the last second", () => {
  const rate = rateMeter(1000);
  assert.equal(rate(0, 0), 0);
  assert.equal(rate(250, 500), 2000);
  assert.equal(rate(500, 1000), 2000);
  assert.equal(rate(1000, 1000), 1000); // idle for half a second
  assert.equal(rate(2000, 1000), 0); // idle for a second: the old samples fell out
});

Deno.test("a disabled status line never writes (not a terminal, or --quiet)", () => {
  const status = statusLine(false, 1);
  status.start(createTelemetry());
  status.clear();
  status.stop();
});
