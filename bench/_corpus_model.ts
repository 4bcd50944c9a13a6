/**
 * The model behind `bench/corpus.ts`: iteration plans, naming conventions (how a module is spelt by
 * each stream, and its near misses), the PRNG and the generator's probabilities.
 * @module
 */

import { normalizePath } from "../src/core/paths.ts";

export type Event = Record<string, unknown>;
export type Stream = "dde" | "bdv" | "acc";
export type Md = Record<string, string>;
/**
 * How acc names a module: exact repo path, normalisable messy path, other root dir (each with its
 * dotted name too), the dotted name only, or the path only.
 */
export type AccVariant = "exact" | "messy" | "name_only" | "other_path" | "path_only";
export type Violation = "VIOLATION_DETECTED" | "LAYERING_VIOLATION" | "COUPLING_ALERT";
export type Outcome = "PASSED" | "FAILED" | "SKIPPED";

export interface ModulePlan {
  /** `domain/stem`, e.g. `api/user_service`. */
  path: string;
  acc: AccVariant;
  /** MODULE_ANALYZED carries `metadata.dde_node_id = build_<stem>`. */
  accNodeId: boolean;
  buildRetry: boolean;
  /** Scenarios in `features/<stem>.feature`; 0 means no feature file. */
  scenarios: number;
  /** Scenario 1 is tagged `@contract:NAME:VERSION`; scenario 2 carries `contract_id` if asked. */
  contract?: { name: string; version: string; idInScenario: boolean };
  /** The last scenario carries `metadata.dde_node_id = test_<stem>`. */
  bdvNodeId: boolean;
  violation?: Violation;
  /** Per-scenario overrides of the random outcome and flake detection. */
  outcomes?: Outcome[];
  flaky?: boolean[];
}

export interface IterationPlan {
  id: string;
  /** Epoch ms of WORKFLOW_STARTED. */
  start: number;
  /** Seed of the rendering PRNG (timing jitter, outcomes, ids). */
  seed: number;
  modules: ModulePlan[];
  /** Dotted module names of a detected import cycle; empty for none. */
  cycle: string[];
  /** Contract tag naming a version that does not exist; on scenario 3 of modules[0]. */
  nearMissTag: string;
}

export const PRODUCER = { dde: "dag_executor", bdv: "bdv_runner", acc: "import_graph_builder" };
export const P_RETRY = 0.1, P_FEATURE = 0.6, P_FLAKE = 0.05, P_VIOLATION = 0.25, P_CYCLE = 0.5;
export const VIOLATIONS: Record<Violation, Event> = {
  VIOLATION_DETECTED: { rule_id: "no-private-imports", severity: "ERROR" },
  LAYERING_VIOLATION: { rule_id: "layers-downward-only", severity: "WARNING" },
  COUPLING_ALERT: { rule_id: "max-fan-out", severity: "WARNING" },
};
export const STEPS = [
  "Given a running {h}",
  "When a client sends a request",
  "Then the response is OK",
];
export const SCENARIOS = [
  "{H} returns the expected response",
  "{H} rejects an invalid request",
  "{H} recovers after a timeout",
  "{H} stays consistent under retries",
];

/** Several dozen modules; stems and their first words are unique (contract names use them). */
export const VOCABULARY = `api/user_service api/profile_handler api/gateway_router
 billing/invoice_store billing/tax_calculator billing/subscription_manager auth/token_cache
 auth/session_store auth/password_hasher auth/oauth_client orders/order_router orders/checkout_flow
 orders/refund_processor catalog/product_index catalog/price_resolver catalog/category_tree
 payments/payment_gateway payments/card_vault payments/ledger_writer notifications/email_sender
 notifications/sms_dispatcher notifications/push_queue inventory/stock_tracker
 inventory/warehouse_sync inventory/reservation_service shipping/shipment_tracker
 shipping/label_printer shipping/carrier_adapter search/query_parser search/ranking_model
 search/index_builder reporting/report_builder reporting/metrics_exporter reporting/dashboard_feed
 analytics/event_collector analytics/funnel_analyzer storage/blob_store storage/cache_client
 storage/migration_runner core/config_loader core/feature_flags core/retry_policy core/rate_limiter
 admin/audit_logger admin/role_manager admin/tenant_registry messaging/kafka_producer
 messaging/outbox_relay messaging/dead_letter_handler media/image_resizer media/thumbnail_worker
 geo/address_validator geo/timezone_lookup support/ticket_router support/chat_bridge
 cart/cart_service cart/discount_engine loyalty/points_ledger loyalty/reward_catalog
 compliance/gdpr_eraser compliance/consent_store`.split(/\s+/);

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export type Rng = () => number;
export const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
export const hex = (rng: Rng, n: number) => {
  let s = "";
  while (s.length < n) s += Math.floor(rng() * 4294967296).toString(16).padStart(8, "0");
  return s.slice(0, n);
};
export const pad = (n: number) => String(n).padStart(4, "0");

export const stemOf = (path: string) => path.split("/")[1];
export const artifactPath = (path: string) => `src/${path}.py`;
export const dotted = (path: string) => path.replace("/", ".");
export const humanize = (s: string) => s[0].toUpperCase() + s.slice(1).replaceAll("_", " ");
export const featureFile = (stem: string) => `features/${stem}.feature`;
export const contractName = (path: string) => humanize(stemOf(path).split("_")[0]) + "API";
export const contractId = (c: { name: string; version: string }) =>
  `ctr-${c.name.toLowerCase()}-${c.version}`;
/** Near miss on the acc side: `api/user_service` → `api/user_services` (no such artifact). */
export const nearMissModule = (path: string) => `${path}s`;
/** Near miss on the bdv side: `user_service` → `user_servics`. */
export const typoStem = (stem: string) => stem.slice(0, -1) + (stem.endsWith("s") ? "z" : "s");

/** The `module_path` an acc MODULE_ANALYZED event carries for a module. */
export function accModulePath(m: Pick<ModulePlan, "path" | "acc">): string | null {
  const [domain, stem] = m.path.split("/");
  if (m.acc === "messy") {
    const forms = [`./src//${domain}\\${stem}.py`, `src\\${domain}\\${stem}.py`];
    return forms[(stem.length + 1) % 2];
  }
  return {
    exact: artifactPath(m.path),
    name_only: null,
    other_path: `app/${m.path}.py`,
    path_only: artifactPath(m.path),
  }[m.acc];
}

/** The `module_name` an acc event carries for a module (none when acc names it by path only). */
export function accModuleName(m: Pick<ModulePlan, "path" | "acc">): string | null {
  return m.acc === "path_only" ? null : dotted(m.path);
}

/**
 * The natural key of the Module the shipped spec makes of a module's acc events: its normalised
 * path when acc gives one, else its dotted name.
 */
export function moduleKey(m: Pick<ModulePlan, "path" | "acc">): string {
  const path = accModulePath(m);
  return path === null ? dotted(m.path) : normalizePath(path);
}
