/**
 * The three hand-planned iterations of the bundled sample (`samples/events.jsonl`, written by
 * `bench/gen_samples.ts`) and what the shipped correlation rules must and must not link in them.
 * Tests can import {@link SAMPLE_PLANS}, {@link expectedLinks} and {@link nearMisses}.
 * @module
 */
import {
  accModuleName,
  accModulePath,
  type AccVariant,
  artifactPath,
  contractId,
  dotted,
  featureFile,
  type IterationPlan,
  moduleKey,
  type ModulePlan,
  nearMissModule,
  stemOf,
  typoStem,
} from "./corpus.ts";

const START = Date.UTC(2025, 2, 3, 9, 0, 0), SPACING = 17 * 60_000; // iterations overlap a little
const mod = (path: string, acc: AccVariant, scenarios: number, more: Partial<ModulePlan> = {}) => ({
  path,
  acc,
  scenarios,
  accNodeId: false,
  buildRetry: false,
  bdvNodeId: false,
  ...more,
});
const contract = (name: string, version: string, idInScenario: boolean) => ({
  contract: { name, version, idInScenario },
});

/**
 * Modules 0–3 of each iteration exercise exact, messy, name-only and other-root acc paths; one
 * module per iteration is analysed by its path only.
 */
export const SAMPLE_PLANS: IterationPlan[] = [{
  id: "it-0001",
  start: START,
  seed: 101,
  modules: [
    mod("api/user_service", "exact", 3, contract("UserAPI", "v1", true)),
    mod("billing/invoice_store", "messy", 2, { bdvNodeId: true, flaky: [false, true] }),
    mod("auth/token_cache", "name_only", 2, { accNodeId: true, outcomes: ["PASSED", "SKIPPED"] }),
    mod("orders/order_router", "other_path", 0, {
      buildRetry: true,
      violation: "LAYERING_VIOLATION",
    }),
    mod("catalog/product_index", "path_only", 2, {
      ...contract("ProductAPI", "v2", false),
      violation: "COUPLING_ALERT",
    }),
  ],
  cycle: ["orders.order_router", "catalog.product_index", "billing.invoice_store"],
  nearMissTag: "@contract:UserAPI:v2",
}, {
  id: "it-0002",
  start: START + SPACING,
  seed: 102,
  modules: [
    mod("payments/payment_gateway", "exact", 3, {
      ...contract("PaymentAPI", "v2", true),
      outcomes: ["PASSED", "FAILED", "PASSED"],
    }),
    mod("payments/card_vault", "messy", 2, { bdvNodeId: true, buildRetry: true }),
    mod("api/user_service", "name_only", 2, { accNodeId: true }),
    mod("cart/cart_service", "other_path", 2, {
      ...contract("CartAPI", "v1", false),
      violation: "COUPLING_ALERT",
    }),
    mod("search/index_builder", "path_only", 0, { violation: "VIOLATION_DETECTED" }),
  ],
  cycle: [],
  nearMissTag: "@contract:PaymentAPI:v1",
}, {
  id: "it-0003",
  start: START + 2 * SPACING,
  seed: 103,
  modules: [
    mod("shipping/shipment_tracker", "exact", 3, {
      ...contract("ShipmentAPI", "v1", true),
      flaky: [false, false, true],
    }),
    mod("inventory/stock_tracker", "messy", 2, { bdvNodeId: true }),
    mod("billing/invoice_store", "name_only", 2, {
      accNodeId: true,
      outcomes: ["SKIPPED", "PASSED"],
    }),
    mod("reporting/report_builder", "other_path", 0, { buildRetry: true }),
    mod("admin/audit_logger", "path_only", 2, { violation: "LAYERING_VIOLATION" }),
  ],
  cycle: ["inventory.stock_tracker", "billing.invoice_store", "shipping.shipment_tracker"],
  nearMissTag: "@contract:ShipmentAPI:v2",
}];

export type Family = "explicit_id" | "file_path_exact" | "file_path_fuzzy" | "tag" | "heuristic";
/**
 * A pair of entities (`Label:natural key`; a Module by its normalised module_path, else its
 * module_name) within one iteration.
 */
export interface ExpectedLink {
  iteration_id: string;
  family: Family;
  left: string;
  right: string;
  why: string;
}

/** The links the shipped rules must find in a sample iteration. */
export function expectedLinks(plan: IterationPlan): ExpectedLink[] {
  const out: ExpectedLink[] = [];
  const link = (family: Family, left: string, right: string, why: string) =>
    out.push({ iteration_id: plan.id, family, left, right, why });
  for (const m of plan.modules) {
    const stem = stemOf(m.path), c = m.contract, path = accModulePath(m);
    const art = `Artifact:${artifactPath(m.path)}`, module = `Module:${moduleKey(m)}`;
    const sc = (k: number) => `Scenario:sc-${stem}-${k}`;
    if (c?.idInScenario) link("explicit_id", sc(2), `Contract:${contractId(c)}`, "bdv contract_id");
    if (m.bdvNodeId) {
      link("explicit_id", sc(m.scenarios), `Task:test_${stem}`, "bdv metadata.dde_node_id");
    }
    if (m.accNodeId) link("explicit_id", module, `Task:build_${stem}`, "acc metadata.dde_node_id");
    const exact = m.acc === "exact" || m.acc === "messy" || m.acc === "path_only";
    if (exact) link("file_path_exact", art, module, `module_path ${JSON.stringify(path)}`);
    const why = exact
      ? "module_name; agrees with the exact rule"
      : path
      ? `module_path ${JSON.stringify(path)} is another root`
      : "no module_path";
    if (accModuleName(m)) link("file_path_fuzzy", art, module, `${dotted(m.path)} (${why})`);
    if (m.scenarios) link("file_path_fuzzy", `Feature:${featureFile(stem)}`, art, "same stem");
    if (c) link("tag", sc(1), `Contract:${contractId(c)}`, `@contract:${c.name}:${c.version}`);
    for (let k = 1; k <= m.scenarios; k++) {
      link("heuristic", `Task:test_${stem}`, sc(k), "name similarity, same test window");
    }
  }
  return out;
}

/** Pairs the shipped rules must NOT link (they should show up only as near misses in `explain`). */
export function nearMisses(plan: IterationPlan): ExpectedLink[] {
  const m0 = plan.modules[0], stem = stemOf(m0.path), typo = typoStem(stem);
  const art = `Artifact:${artifactPath(m0.path)}`, miss = nearMissModule(m0.path);
  const list: [Family, string, string, string][] = [
    [
      "file_path_fuzzy",
      art,
      `Module:${moduleKey({ path: miss, acc: "exact" })}`,
      `${artifactPath(miss)}: no such artifact, exact or fuzzy`,
    ],
    ["file_path_fuzzy", `Feature:${featureFile(typo)}`, art, `stem ${typo} is not ${stem}`],
    [
      "tag",
      `Scenario:sc-${stem}-3`,
      `Contract:${contractId(m0.contract!)}`,
      `${plan.nearMissTag}: no such version`,
    ],
    ["heuristic", `Task:test_${stem}`, `Scenario:sc-${typo}-1`, "close in time, unrelated name"],
  ];
  const byId: Record<string, [Family, string, string, string][]> = {
    "it-0002": [
      [
        "file_path_fuzzy",
        "Feature:features/user_service.feature",
        "Artifact:src/cart/cart_service.py",
        "shared _service",
      ],
      [
        "file_path_fuzzy",
        "Feature:features/cart_service.feature",
        "Artifact:src/api/user_service.py",
        "shared _service",
      ],
    ],
    "it-0003": [[
      "file_path_fuzzy",
      "Feature:features/stock_tracker.feature",
      "Artifact:src/shipping/shipment_tracker.py",
      "shared _tracker",
    ]],
  };
  return [...list, ...(byId[plan.id] ?? [])]
    .map(([family, left, right, why]) => ({ iteration_id: plan.id, family, left, right, why }));
}
