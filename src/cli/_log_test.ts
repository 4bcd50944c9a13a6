import assert from "node:assert/strict";
import { createLog } from "./_log.ts";
import process from "node:process";
import { rememberSecret } from "../core/secrets.ts";

function capture(options: { quiet?: boolean; json?: boolean }) {
  const lines: string[] = [];
  const log = createLog({ ...options, write: (line) => lines.push(line) });
  return { log, lines };
}

Deno.test("the JSON log has one object per line: time, level, component, event fields, message", () => {
  const { log, lines } = capture({ json: true });
  try {
    log("warn", "graph failed (attempt 2), retrying: {braces} stay", { component: "graph" });
    log("warn", "event dead-lettered (sink_error): refused", {
      iteration_id: "it-0001",
      event_id: "e-42",
    });
    log("info", "policy p1 is live", { component: "correlation" });
  } finally {
    log.close();
  }
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n")));
  const [a, b, c] = lines.map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(a), ["time", "level", "component", "message"]);
  assert.equal(new Date(a.time).toISOString(), a.time);
  assert.deepEqual({ ...a, time: undefined }, {
    time: undefined,
    level: "warn",
    component: "graph",
    message: "graph failed (attempt 2), retrying: {braces} stay",
  });
  assert.deepEqual(Object.keys(b), [
    "time",
    "level",
    "component",
    "iteration_id",
    "event_id",
    "message",
  ]);
  assert.equal(b.component, "runtime");
  assert.equal(b.iteration_id, "it-0001");
  assert.equal(b.event_id, "e-42");
  assert.equal(c.level, "info");
});

Deno.test("the log redacts secrets in messages and fields, and --quiet keeps only warnings and errors", () => {
  const secret = `pw-${crypto.randomUUID()}`;
  rememberSecret(secret);
  const { log, lines } = capture({ json: true, quiet: true });
  try {
    log("info", "not shown");
    log("error", `Redis at "redis://ics:${secret}@127.0.0.1:1" is unreachable`, {
      component: "dedup",
      event_id: secret,
    });
  } finally {
    log.close();
  }
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes(secret), lines[0]);
  assert.equal(
    JSON.parse(lines[0]).message,
    'Redis at "redis://ics:***@127.0.0.1:1" is unreachable',
  );
});

Deno.test("on a terminal the log is human text: time, level, component, message, fields", () => {
  const { log, lines } = capture({ json: false });
  try {
    log("warn", "metrics failed (attempt 1)", { component: "metrics", iteration_id: "it-7" });
  } finally {
    log.close();
  }
  // deno-lint-ignore no-control-regex
  const plain = lines[0].replace(/\x1b\[[0-9;]*m/g, "");
  assert.match(
    plain,
    /^\d\d:\d\d:\d\d\.\d{3} WRN metrics: metrics failed \(attempt 1\) iteration_id=it-7\n$/,
  );
});

Deno.test("process warnings of client libraries become log lines; kafkajs's harmless negative-timeout one is dropped", async () => {
  const lines: string[] = [];
  const log = createLog({ json: true, processWarnings: true, write: (line) => lines.push(line) });
  try {
    process.emitWarning("-1 is a negative number.", "TimeoutNegativeWarning");
    process.emitWarning("Buffer() is deprecated", "DeprecationWarning");
    await new Promise((r) => setTimeout(r, 10)); // warnings are emitted on the next tick
  } finally {
    log.close();
  }
  assert.equal(lines.length, 1, lines.join(""));
  const e = JSON.parse(lines[0]);
  assert.deepEqual([e.level, e.component, e.message], [
    "warn",
    "runtime",
    "DeprecationWarning: Buffer() is deprecated",
  ]);
});
