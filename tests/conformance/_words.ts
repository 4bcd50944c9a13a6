/**
 * Vocabularies. Planted pairs take fresh words from {@link PLANT_WORDS} (no two plants of an
 * iteration share a word); everything else draws from background pools whose word tokens are
 * disjoint from the plant words and from the pools they could be compared with (artifact stems vs
 * module and feature stems, task ids vs scenario names, contract names vs tag names, ids vs
 * references). So a link between two entities that were not planted together matches no family
 * by any reading of EVENTS.md, and counts as a false positive. Unicode on purpose.
 * @module
 */

/** Word tokens as a reader of names would split them: letters and digits, lower-cased. */
export function tokens(text: string): string[] {
  return text.split(/[^\p{L}\p{N}]+/u).filter((t) => t !== "").map((t) => t.toLowerCase());
}

/** Fresh words for planted pairs: none ends in "s" (a near miss adds one), none a stop word. */
export const PLANT_WORDS = [
  "ledger",
  "audit",
  "invoice",
  "parcel",
  "tariff",
  "quota",
  "beacon",
  "cipher",
  "vertex",
  "harbor",
  "meadow",
  "lantern",
  "quartz",
  "falcon",
  "orbit",
  "nectar",
  "pebble",
  "ripple",
  "summit",
  "timber",
  "velvet",
  "walnut",
  "zephyr",
  "anchor",
  "bramble",
  "copper",
  "dynamo",
  "ember",
  "fjord",
  "glacier",
  "hazel",
  "indigo",
  "jasper",
  "kernel",
  "marble",
  "prism",
  "quill",
  "raven",
  "saffron",
  "tundra",
  "umber",
  "violet",
  "willow",
  "zenith",
  "größe",
  "données",
  "café",
  "señal",
  "łódź",
  "ñandú",
  "čaj",
  "żółw",
  "日志",
  "数据",
  "кошка",
  "дерево",
  "αστέρι",
  "λίμνη",
  "übung",
  "ørken",
] as const;

/** Package folders (`src/<pkg>/x.py`, `<pkg>.x`). */
export const PACKAGES = ["api", "core", "billing", "infra", "web", "ядро", "服务", "réseau"];

/** Background task ids (`node_id`). */
export const BG_TASKS = [
  "compile",
  "lint",
  "bundle",
  "deploy_staging",
  "smoke_gate",
  "сборка",
  "打包",
  "publish_wheel",
];

/** Background scenario names (compared with task ids by the heuristic family). */
export const BG_SCENARIO_NAMES = [
  "Checkout completes",
  "Login rejects a bad password",
  "Cart keeps items",
  "Профиль открывается",
  "検索 works offline",
  "Ünïcode name survives",
];

/** Background stems: artifacts, modules and features never share a token. */
export const BG_ARTIFACT_STEMS = ["alpha_engine", "beta_loader", "gamma_ctl", "δέλτα_util"];
export const BG_MODULE_STEMS = ["omega_store", "sigma_cache", "kappa_queue", "тета_шина"];
export const BG_FEATURE_STEMS = ["onboarding", "refunds", "search_ui", "チェック"];

/** Background contract ids (dde), contract references (bdv) and task references (metadata). */
export const BG_CONTRACT_IDS = ["dde-ctr-001", "dde-ctr-002", "dde-ctr-ü03"];
export const BG_CONTRACT_REFS = ["bdv-ref-001", "bdv-ref-002", "bdv-ref-ß03"];
export const BG_NODE_REFS = ["ext-node-1", "ext-node-2", "ext-узел-3"];

/** Background contract names (dde) and the names background tags use: never equal. */
export const BG_CONTRACT_NAMES = ["OrdersAPI", "ProfileAPI", "ЗаказыAPI"];
export const BG_VERSIONS = ["v1", "v2", "2.0.1"];
export const BG_TAGS = [
  "@smoke",
  "@wip",
  "@req:REQ-42",
  "@contract:SearchAPI:v3",
  "@contract:InventoryAPI:2.1",
  "@контракт",
];

/** Background step texts (what a `STEP_EXECUTED` is about). */
export const BG_STEPS = [
  "Given a signed-in user",
  "When the user pays 💳",
  "Then the receipt shows €12",
  "And the log says «fertig»",
];

export const RULE_IDS = ["no-cycles", "layering", "ARCH-001", "規則-7"];

/** Pools whose tokens must not meet (checked by a test): a pair per rule that compares them. */
export const DISJOINT: [string, readonly string[], readonly string[]][] = [
  ["plant words vs background", PLANT_WORDS, [
    ...PACKAGES,
    ...BG_TASKS,
    ...BG_SCENARIO_NAMES,
    ...BG_ARTIFACT_STEMS,
    ...BG_MODULE_STEMS,
    ...BG_FEATURE_STEMS,
    ...BG_CONTRACT_NAMES,
    ...BG_TAGS,
  ]],
  ["plant words vs packages", PLANT_WORDS, PACKAGES],
  ["task ids vs scenario names", BG_TASKS, BG_SCENARIO_NAMES],
  ["artifact stems vs module stems", BG_ARTIFACT_STEMS, BG_MODULE_STEMS],
  ["artifact stems vs feature stems", BG_ARTIFACT_STEMS, BG_FEATURE_STEMS],
  ["contract names vs tag names", BG_CONTRACT_NAMES, BG_TAGS],
];
