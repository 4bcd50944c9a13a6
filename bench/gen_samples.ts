/**
 * Writes the bundled sample `samples/events.jsonl` and its guide `samples/README.md`: the three
 * iterations of `SAMPLE_PLANS` (bench/sample_plans.ts) rendered by `bench/corpus.ts`, in time order,
 * then perturbed on purpose: out-of-order and late events, ten re-sent duplicates and six malformed
 * lines. Deterministic: the same bytes on every run.
 *
 *     deno run --allow-write=samples bench/gen_samples.ts
 * @module
 */
import { accModulePath, type Event, featureFile, iterationEvents, stemOf } from "./corpus.ts";
import { type ExpectedLink, expectedLinks, nearMisses, SAMPLE_PLANS } from "./sample_plans.ts";

type Kind = "event" | "duplicate" | "moved" | "late" | "malformed";
export interface Line {
  kind: Kind;
  bytes: Uint8Array;
  event?: Event;
  note?: string;
}
/** Selects an event: iteration, event_type, and one field's value. */
type Select = [iteration: string, type: string, field: string, value: string];

const enc = new TextEncoder();
const json = (e: Event) => JSON.stringify(e);
const at = (lines: Line[], [id, type, field, value]: Select) =>
  lines.findIndex((l) =>
    l.event?.iteration_id === id && l.event.event_type === type && l.event[field] === value
  );
/** A new emission derived from `e`: a fresh event_id (`…-9001`), changed and dropped fields. */
const variant = (e: Event, changes: Event, ...drop: string[]) => {
  const v: Event = { ...e, event_id: String(e.event_id).replace(/\d+$/, "9001"), ...changes };
  for (const f of drop) delete v[f];
  return v;
};
const later = (e: Event, ms: number) => (e.timestamp as number) + ms;

const LATE: [Select, string][] = [
  [["it-0001", "MODULE_ANALYZED", "module_name", "orders.order_router"], "creates a fuzzy link"],
  [["it-0001", "ARTIFACT_VALIDATED", "node_id", "build_invoice_store"], "late status update"],
  [["it-0002", "CONTRACT_LOCKED", "contract_name", "CartAPI"], "creates a tag link (1/2)"],
  [["it-0002", "CONTRACT_VALIDATED", "contract_name", "CartAPI"], "creates a tag link (2/2)"],
];
const MOVES = [[0.1, 6], [0.3, -8], [0.5, 10], [0.7, -5], [0.85, 7]]; // [position, by lines]
const DUPLICATE_GAPS = [1, 3, 12, 1, 25, 2, 40, 5, 1, 8]; // lines between original and copy

/** Each malformed line sits next to the event it derives from; `note` is "category: what". */
const MALFORMED: { select: Select; note: string; make: (e: Event) => string | Uint8Array }[] = [{
  select: ["it-0001", "TASK_COMPLETED", "node_id", "build_token_cache"],
  note: "decode_error: truncated JSON (a cut-off write; the complete event follows)",
  make: (e) => json(e).slice(0, Math.floor(json(e).length * 0.6)),
}, {
  select: ["it-0001", "STEP_EXECUTED", "scenario_id", "sc-invoice_store-1"],
  note: "schema_violation: required field `iteration_id` missing",
  make: (e) => json(variant(e, {}, "iteration_id")),
}, {
  select: ["it-0002", "TASK_STARTED", "node_id", "build_index_builder"],
  note: 'schema_violation: `event_type` "TASK_EXPLODED" is not a dde symbol',
  make: (e) => json(variant(e, { event_type: "TASK_EXPLODED", timestamp: later(e, 1_500) })),
}, {
  select: ["it-0002", "MODULE_ANALYZED", "module_name", "cart.cart_service"],
  note: 'schema_violation: `timestamp` is the string "yesterday"',
  make: (e) => json(variant(e, { timestamp: "yesterday" })),
}, {
  select: ["it-0003", "ARTIFACT_CREATED", "node_id", "build_audit_logger"],
  note: "mapping_error: ARTIFACT_CREATED with neither `artifact_path` nor `artifact_id` " +
    "(schema-valid, names no Artifact)",
  make: (e) => json(variant(e, { timestamp: later(e, 250) }, "artifact_path", "artifact_id")),
}, {
  select: ["it-0003", "STEP_EXECUTED", "scenario_id", "sc-stock_tracker-1"],
  note: "decode_error: invalid UTF-8 (bytes 0xff 0xfe inside `step_text`)",
  make: (e) => {
    const [head, tail] = json(
      variant(e, { step_text: "Given the label reads @@", timestamp: later(e, 100) }),
    )
      .split("@@");
    return new Uint8Array([...enc.encode(head), 0xff, 0xfe, ...enc.encode(tail)]);
  },
}];

/** The sample file's lines, in order, each with what it is there for. */
export function sampleLines(): Line[] {
  const lines: Line[] = SAMPLE_PLANS.flatMap(iterationEvents)
    .sort((a, b) => (a.timestamp as number) - (b.timestamp as number))
    .map((event) => ({ kind: "event", bytes: enc.encode(json(event)), event }));
  const late = LATE.map(([select, note]) => ({
    ...lines.splice(at(lines, select), 1)[0],
    kind: "late" as const,
    note,
  }));
  for (const [where, by] of MOVES) {
    const i = Math.floor(where * lines.length), [l] = lines.splice(i, 1);
    lines.splice(i + by, 0, {
      ...l,
      kind: "moved",
      note: `${by > 0 ? "later" : "earlier"} by ${Math.abs(by)} lines`,
    });
  }
  lines.push(...late);
  const copies = DUPLICATE_GAPS.map((
    gap,
    k,
  ) => [Math.floor((0.04 + k * 0.095) * lines.length), gap]);
  for (const [from, gap] of copies.reverse()) { // back to front, so earlier positions hold
    lines.splice(from + 1 + gap, 0, {
      ...lines[from],
      kind: "duplicate",
      note: String(lines[from].event!.event_id),
    });
  }
  for (const { select, note, make } of MALFORMED) {
    const i = at(lines, select), made = make(lines[i].event!);
    const bytes = typeof made === "string" ? enc.encode(made) : made;
    lines.splice(note.includes("truncated") ? i : i + 1, 0, { kind: "malformed", bytes, note });
  }
  return lines;
}

if (import.meta.main) {
  const lines = sampleLines();
  await Deno.writeFile(
    "samples/events.jsonl",
    new Uint8Array(lines.flatMap((l) => [...l.bytes, 10])),
  );
  await Deno.writeTextFile("samples/README.md", readme(lines));
  console.log(`samples/events.jsonl: ${lines.length} lines; samples/README.md`);
}

function readme(lines: Line[]): string {
  const numbered = (...kinds: Kind[]) =>
    lines.flatMap((l, i) => (kinds.includes(l.kind) ? [{ n: i + 1, l, e: l.event! }] : []));
  const first = new Map<unknown, number>();
  numbered("event", "moved", "late").forEach(({ n, e }) => first.set(e.event_id, n));
  const unique = numbered("event", "moved", "late");
  const per = (s: string) => unique.filter(({ e }) => e.producer === s).length;
  const table = (head: string, rows: string[]) =>
    [`| ${head.split(",").join(" | ")} |`, `|${"---|".repeat(head.split(",").length)}`, ...rows]
      .join("\n");
  const links = (list: ExpectedLink[]) =>
    table(
      "family,left,right,evidence",
      list.map((l) => `| ${l.family} | \`${l.left}\` | \`${l.right}\` | ${l.why} |`),
    );
  const spans = SAMPLE_PLANS.map((p) => {
    const ts = unique.filter(({ e }) => e.iteration_id === p.id).map(({ e }) =>
      e.timestamp as number
    );
    return [Math.min(...ts), Math.max(...ts)];
  });
  const time = (t: number) => new Date(t).toISOString().slice(11, 19);
  const iterations = SAMPLE_PLANS.map((p, k) => {
    const mods = p.modules.map((m) => {
      const feature = m.scenarios
        ? `${featureFile(stemOf(m.path))} (${m.scenarios} scenarios)`
        : "—";
      const contract = m.contract ? `${m.contract.name} ${m.contract.version}` : "—";
      return `| \`${m.path}\` | ${m.acc} | \`${
        JSON.stringify(accModulePath(m))
      }\` | ${feature} | ${contract} |`;
    });
    return `## ${p.id} (${time(spans[k][0])}–${time(spans[k][1])} UTC, 2025-03-03)

${table("module,acc variant,acc module_path,feature file,contract", mods)}

Import cycle: ${p.cycle.length ? p.cycle.join(" → ") : "none"}. Expected links (${
      expectedLinks(p).length
    }):

${links(expectedLinks(p))}

Near misses that must NOT link:

${links(nearMisses(p))}
`;
  });
  const malformed = numbered("malformed").map(({ n, l }) =>
    `| ${n} | ${l.note!.replace(": ", " | ")} |`
  );
  const duplicates = numbered("duplicate").map(({ n, l }) =>
    `| ${n} | ${first.get(l.event!.event_id)} | ${l.note} |`
  );
  const moved = numbered("moved", "late").map(({ n, l, e }) =>
    `| ${n} | ${e.event_id} | ${e.event_type} | ${l.kind}: ${l.note} |`
  );
  const counts = `dde ${per("dag_executor")}, bdv ${per("bdv_runner")}, acc ${
    per("import_graph_builder")
  }`;
  const summary = [
    `${lines.length} lines: ${unique.length} distinct events (${counts}) of three iterations, streams`,
    "interleaved in time order (consecutive iterations overlap by under a minute), plus",
    `${duplicates.length} duplicate lines and ${malformed.length} malformed lines; ${moved.length} of the distinct events`,
    "are out of order or late. A run should pass all distinct events and the schema-valid",
    "ARTIFACT_CREATED that names no artifact through decoding and validation, drop the duplicates,",
    `and dead-letter the ${malformed.length} malformed lines (that ARTIFACT_CREATED at the mapping stage).`,
  ].join("\n");
  return `# Sample events

\`events.jsonl\` is generated by \`deno run --allow-write=samples bench/gen_samples.ts\`; do not edit it
by hand. The plans and the expectations below live in \`bench/sample_plans.ts\` (\`SAMPLE_PLANS\`,
\`expectedLinks()\`, \`nearMisses()\`), so tests can import them.

${summary}

Entities are written \`Label:key\`; a Module by its normalised \`module_path\` when acc gives one,
else by its \`module_name\` (pipeline.yaml: \`first_of\`). Modules with an exact or messy
\`module_path\` also carry \`module_name\`, so the fuzzy rule agrees with the exact rule on them;
\`path_only\` modules carry no name and link by the exact rule alone. Links never cross iterations:
\`api/user_service\` is in it-0001 and it-0002, \`billing/invoice_store\` in it-0001 and it-0003, and
each iteration's entities link only among themselves.

Same-millisecond bursts of distinct events, which must all be processed: each iteration's contracts
are locked (and validated) by one task at once, its first two feature files start in the same
millisecond, and its modules are analysed two at a time.

${iterations.join("\n")}
## Malformed lines

${table("line,expected DLQ category,what", malformed)}

## Duplicates (identical bytes, same event_id)

${table("line,duplicate of line,event_id", duplicates)}

## Out-of-order and late events

${table("line,event_id,event_type,note", moved)}
`;
}
