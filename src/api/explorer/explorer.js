// The explorer page: one iteration's graph read through /graphql and drawn with cytoscape.
// Plain browser JavaScript (no build step); the view's state lives in the query string so a view
// can be shared: ?iteration=&asOf=&knownAt=&minConfidence=&labels=&selected= (an entity's fact id
// or `link:<id>`).
// cytoscape is the npm package's ES module, served beside this file; imported by a computed URL so
// that `deno check` does not look for it among the sources.
const { default: cytoscape } = await import(new URL("cytoscape.mjs", import.meta.url).href);

const PAGE = 500;
const COLOURS = { dde: "#3b6fd8", bdv: "#2e9d57", acc: "#e07b20" };
const OTHER = "#888888";
const $ = (id) => document.getElementById(id);

/** The confidence band of a link: its line style in the drawing and the legend. */
export function band(confidence) {
  return confidence >= 0.9 ? "strong" : confidence >= 0.7 ? "medium" : "weak";
}

// ---------------------------------------------------------------------------------------------
// The API

let token = sessionStorage.getItem("ics-token") ?? "";

async function gql(query, variables = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) {
    $("token-field").hidden = false;
    throw new Error("the API needs its token (ICS_API_TOKEN): enter it and press Show");
  }
  const body = await response.json();
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

/** Every row of a connection, page by page; `pick` finds the connection in an answer. */
async function every(query, variables, pick) {
  const rows = [];
  let after = null;
  for (;;) {
    const connection = pick(await gql(query, { ...variables, after }));
    if (!connection) return rows;
    rows.push(...connection.nodes);
    if (!connection.pageInfo.hasNextPage) return rows;
    after = connection.pageInfo.endCursor;
  }
}

const WHEN = "$asOf: Time, $knownAt: Time, $after: String";
const AT = "asOf: $asOf, knownAt: $knownAt";
const PAGE_INFO = "pageInfo { hasNextPage endCursor }";
const ENDPOINT = "id label key iterationId";

const Q = {
  iterations: `query(${WHEN}) { iterations(first: ${PAGE}, after: $after, ${AT}) {
    nodes { id } ${PAGE_INFO} } }`,
  entities: `query($id: ID!, ${WHEN}) { iteration(id: $id, ${AT}) {
    entities(first: ${PAGE}, after: $after) { nodes { id label key } ${PAGE_INFO} } } }`,
  links: `query($id: ID!, $min: Float, ${WHEN}) { iteration(id: $id, ${AT}) {
    links(minConfidence: $min, first: ${PAGE}, after: $after) {
      nodes { id confidence rules { rule } from { ${ENDPOINT} } to { ${ENDPOINT} } } ${PAGE_INFO} } } }`,
  relationships: `query($id: ID!, ${WHEN}) { iteration(id: $id, ${AT}) {
    relationships(first: ${PAGE}, after: $after) {
      nodes { id type from { id } to { id } } ${PAGE_INFO} } } }`,
  entity: `query($label: EntityLabel!, $iterationId: String!, $key: [String!]!, $asOf: Time,
    $knownAt: Time) { entity(label: $label, iterationId: $iterationId, key: $key, ${AT}) {
      label ref key validFrom validTo observedAt supersededAt properties } }`,
  explain: `query($a: EntityRefInput!, $b: EntityRefInput!, $asOf: Time, $knownAt: Time) {
    explain(a: $a, b: $b, ${AT}) {
      linked confidence minConfidence combine policy missing
      verdicts { rule kind verdict score reason matched detail }
      link { id confidence validFrom validTo observedAt supersededAt
        rules { rule kind score matched detail } } } }`,
};

// ---------------------------------------------------------------------------------------------
// The view's state and the query string

/** @returns {{iteration: string, asOf: string, knownAt: string, minConfidence: number, labels: string[] | null, selected: string}} */
function stateFromUrl() {
  const q = new URLSearchParams(location.search);
  const labels = q.get("labels");
  return {
    iteration: q.get("iteration") ?? "",
    asOf: q.get("asOf") ?? "",
    knownAt: q.get("knownAt") ?? "",
    minConfidence: Number(q.get("minConfidence") ?? 0) || 0,
    labels: labels === null ? null : labels.split(",").filter(Boolean),
    selected: q.get("selected") ?? "",
  };
}

function urlOf(s) {
  const q = new URLSearchParams();
  if (s.iteration) q.set("iteration", s.iteration);
  if (s.asOf) q.set("asOf", s.asOf);
  if (s.knownAt) q.set("knownAt", s.knownAt);
  if (s.minConfidence > 0) q.set("minConfidence", String(s.minConfidence));
  if (s.labels) q.set("labels", s.labels.join(","));
  if (s.selected) q.set("selected", s.selected);
  const text = q.toString();
  return text ? `?${text}` : location.pathname;
}

let streams = { streams: [], labels: {} };

function stateFromControls() {
  const boxes = [...document.querySelectorAll("#labels input")];
  const checked = boxes.filter((b) => b.checked).map((b) => b.value);
  return {
    iteration: $("iteration").value,
    asOf: $("asOf").value.trim(),
    knownAt: $("knownAt").value.trim(),
    minConfidence: Math.min(1, Math.max(0, Number($("minConfidence").value) || 0)),
    labels: checked.length === boxes.length ? null : checked,
    // The selection stays across time points: the same entity or link, if it is there.
    selected: current.selected,
  };
}

function showState(s) {
  $("asOf").value = s.asOf;
  $("knownAt").value = s.knownAt;
  $("minConfidence").value = String(s.minConfidence);
  for (const box of document.querySelectorAll("#labels input")) {
    box.checked = !s.labels || s.labels.includes(box.value);
  }
}

// ---------------------------------------------------------------------------------------------
// The drawing

const colourOf = (label) => COLOURS[streams.labels[label]] ?? OTHER;
const short = (text, n = 28) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

const cy = cytoscape({
  container: $("graph"),
  style: [
    {
      selector: "node",
      style: {
        "background-color": "data(colour)",
        label: "data(caption)",
        "font-size": 10,
        "text-wrap": "wrap",
        "text-valign": "bottom",
        "text-margin-y": 3,
        width: 22,
        height: 22,
      },
    },
    { selector: "node:selected", style: { "border-width": 3, "border-color": "#111" } },
    {
      selector: "edge",
      style: { "curve-style": "bezier", width: 1, "line-color": "#bbb" },
    },
    {
      selector: "edge.relationship",
      style: {
        "target-arrow-shape": "triangle",
        "target-arrow-color": "#bbb",
        "arrow-scale": 0.7,
      },
    },
    {
      selector: "edge.link",
      style: {
        "line-color": "#7a3db8",
        width: 2.5,
        label: "data(caption)",
        "font-size": 8,
        color: "#5a2a8a",
        "text-rotation": "autorotate",
        "text-background-color": "#fff",
        "text-background-opacity": 0.8,
        "text-background-padding": 1,
      },
    },
    { selector: "edge.link.medium", style: { "line-style": "dashed", width: 2 } },
    { selector: "edge.link.weak", style: { "line-style": "dotted", width: 1.5, opacity: 0.55 } },
    { selector: "edge:selected", style: { "line-color": "#111", width: 4 } },
  ],
});
// For tests and the browser console: what is drawn.
globalThis.explorer = { cy };

function setStatus(text, kind = "ready") {
  $("status").textContent = text;
  $("status").className = kind === "error" ? "error" : "";
  $("graph").dataset.state = kind;
}

function draw(entities, links, relationships, s) {
  const shown = (label) => !s.labels || s.labels.includes(label);
  const nodes = entities.filter((e) => shown(e.label)).map((e) => ({
    group: "nodes",
    data: {
      id: e.id,
      label: e.label,
      key: e.key,
      colour: colourOf(e.label),
      caption: `${e.label}\n${short(e.key.join("|"))}`,
    },
  }));
  const ids = new Set(nodes.map((n) => n.data.id));
  const drawnLinks = links.filter((l) => l.from && l.to && ids.has(l.from.id) && ids.has(l.to.id))
    .map((l) => ({
      group: "edges",
      classes: `link ${band(l.confidence)}`,
      data: {
        id: `link:${l.id}`,
        link: l,
        source: l.from.id,
        target: l.to.id,
        caption: `${l.rules.map((r) => r.rule).join(", ")} ${l.confidence.toFixed(2)}`,
      },
    }));
  const drawnRels = relationships.filter((r) =>
    r.from && r.to && ids.has(r.from.id) && ids.has(r.to.id)
  ).map((r) => ({
    group: "edges",
    classes: "relationship",
    data: { id: `rel:${r.id}`, source: r.from.id, target: r.to.id, type: r.type },
  }));
  cy.elements().remove();
  // Start each stream in a column of its own, so the layout keeps the three apart.
  const order = [...streams.streams, "other"];
  const rows = new Map();
  for (const n of nodes) {
    const column = Math.max(0, order.indexOf(streams.labels[n.data.label] ?? "other"));
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    n.position = { x: column * 400 + (row % 4) * 60, y: Math.floor(row / 4) * 60 };
  }
  cy.add([...nodes, ...drawnLinks, ...drawnRels]);
  // Laid out over the whole canvas (cose alone leaves a tall narrow graph in a wide window).
  cy.layout({
    name: "cose",
    animate: false,
    randomize: false,
    nodeDimensionsIncludeLabels: true,
    boundingBox: { x1: 0, y1: 0, w: Math.max(cy.width(), 400), h: Math.max(cy.height(), 300) },
    padding: 30,
  }).run();
  const graph = $("graph");
  graph.dataset.entities = String(nodes.length);
  graph.dataset.links = String(drawnLinks.length);
  graph.dataset.relationships = String(drawnRels.length);
  const hidden = entities.length - nodes.length;
  setStatus(
    `${s.iteration}: ${nodes.length} entities, ${drawnLinks.length} links, ` +
      `${drawnRels.length} relationships` + (hidden ? ` (${hidden} entities filtered out)` : ""),
  );
}

// ---------------------------------------------------------------------------------------------
// Details of a selection

function table(rows) {
  const t = document.createElement("table");
  for (const [name, value] of rows) {
    const tr = t.insertRow();
    const th = document.createElement("th");
    th.textContent = name;
    tr.append(th);
    const td = tr.insertCell();
    if (value !== null && typeof value === "object") {
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(value, null, 1);
      td.append(pre);
    } else td.textContent = value === null || value === undefined ? "—" : String(value);
  }
  return t;
}

function heading(text) {
  const h = document.createElement("h2");
  h.textContent = text;
  return h;
}

function showSelection(...parts) {
  $("selection").replaceChildren(...parts);
}

let current = stateFromUrl();
const when = () => ({ asOf: current.asOf || null, knownAt: current.knownAt || null });

async function showEntity(node) {
  showSelection(heading(`${node.data("label")} …`));
  try {
    const { entity } = await gql(Q.entity, {
      label: node.data("label"),
      iterationId: current.iteration,
      key: node.data("key"),
      ...when(),
    });
    if (!entity) return showSelection(heading("No version at this time point"));
    const view = table([
      ["label", entity.label],
      ["ref", entity.ref],
      ["stream", streams.labels[entity.label] ?? "—"],
      ["validFrom", entity.validFrom],
      ["validTo", entity.validTo],
      ["observedAt", entity.observedAt],
      ["supersededAt", entity.supersededAt],
      ...Object.entries(entity.properties ?? {}),
    ]);
    view.id = "entity-details";
    showSelection(heading(`Entity ${entity.ref}`), view);
  } catch (error) {
    showSelection(heading("Error"), table([["message", error.message]]));
  }
}

async function showLink(edge) {
  const link = edge.data("link");
  const ref = (e) => ({ label: e.label, iterationId: e.iterationId, key: e.key });
  showSelection(heading("Link …"));
  try {
    const { explain } = await gql(Q.explain, { a: ref(link.from), b: ref(link.to), ...when() });
    const box = document.createElement("div");
    box.id = "explanation";
    box.append(
      heading(`Link ${link.from.label} → ${link.to.label}`),
      table([
        ["rules", link.rules.map((r) => r.rule).join(", ")],
        ["confidence", `${link.confidence} (${band(link.confidence)})`],
        ["linked now", explain.linked],
        ["explained confidence", explain.confidence],
        ["min confidence", explain.minConfidence],
        ["combine", explain.combine],
        ["policy", explain.policy],
        ["validFrom", explain.link?.validFrom],
        ["observedAt", explain.link?.observedAt],
      ]),
      heading("Evidence"),
    );
    for (const r of explain.link?.rules ?? []) {
      box.append(table([["rule", r.rule], ["kind", r.kind], ["score", r.score], [
        "matched",
        r.matched,
      ], ["detail", r.detail]]));
    }
    box.append(heading("Every rule's verdict"));
    const verdicts = table(
      explain.verdicts.map((
        v,
      ) => [
        v.rule,
        `${v.verdict}${v.score === null ? "" : ` ${v.score.toFixed(3)}`}${
          v.reason ? `: ${v.reason}` : ""
        }`,
      ]),
    );
    for (const [i, v] of explain.verdicts.entries()) {
      verdicts.rows[i].cells[1].className = `verdict-${v.verdict}`;
    }
    box.append(verdicts);
    showSelection(box);
  } catch (error) {
    showSelection(heading("Error"), table([["message", error.message]]));
  }
}

function select(element) {
  current.selected = element.id();
  history.replaceState(null, "", urlOf(current));
  if (element.isNode()) showEntity(element);
  else if (element.hasClass("link")) showLink(element);
}

cy.on("tap", "node", (event) => select(event.target));
cy.on("tap", "edge.link", (event) => select(event.target));
cy.on("tap", "edge.relationship", (event) =>
  showSelection(
    heading(`Relationship ${event.target.data("type")}`),
    table([["from", event.target.source().id()], ["to", event.target.target().id()]]),
  ));

// ---------------------------------------------------------------------------------------------
// Loading a view

let loading = 0;
const hint = $("selection").firstElementChild;

async function load(s) {
  const mine = ++loading;
  current = s;
  setStatus("Loading…", "loading");
  try {
    const iterations = await every(Q.iterations, when(), (d) => d.iterations);
    if (mine !== loading) return;
    const ids = iterations.map((i) => i.id);
    if (!s.iteration) s.iteration = ids.at(-1) ?? "";
    if (s.iteration && !ids.includes(s.iteration)) ids.push(s.iteration);
    $("iteration").replaceChildren(
      ...ids.map((id) => new Option(id, id, false, id === s.iteration)),
    );
    if (!s.iteration) {
      cy.elements().remove();
      return setStatus("No iteration holds anything at this time point.");
    }
    const vars = { id: s.iteration, ...when() };
    const [entities, links, relationships] = await Promise.all([
      every(Q.entities, vars, (d) => d.iteration?.entities),
      every(Q.links, { ...vars, min: s.minConfidence || null }, (d) => d.iteration?.links),
      every(Q.relationships, vars, (d) => d.iteration?.relationships),
    ]);
    if (mine !== loading) return;
    draw(entities, links, relationships, s);
    const chosen = s.selected ? cy.getElementById(s.selected) : cy.collection();
    if (chosen.nonempty()) {
      chosen.select();
      select(chosen);
    } else {
      showSelection(hint.cloneNode(true));
    }
  } catch (error) {
    if (mine === loading) setStatus(error.message, "error");
  }
}

function legend() {
  const items = [...streams.streams, "other"].map((name) => {
    const span = document.createElement("span");
    const dot = document.createElement("span");
    dot.className = `swatch ${COLOURS[name] ? name : "other"}`;
    span.append(dot, name);
    return span;
  });
  for (const [cls, text] of [["", "≥ 0.9"], ["dashed", "0.7–0.9"], ["dotted", "< 0.7"]]) {
    const span = document.createElement("span");
    const line = document.createElement("span");
    line.className = `band ${cls}`;
    span.append(line, text);
    items.push(span);
  }
  $("legend").replaceChildren(...items);
}

async function start() {
  try {
    const response = await fetch("/explorer/streams.json");
    streams = await response.json();
  } catch {
    // Colours are a nicety: without them every entity is grey.
  }
  legend();
  $("labels").append(
    ...Object.keys(streams.labels).map((label) => {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = label;
      box.checked = true;
      const l = document.createElement("label");
      l.append(box, label);
      return l;
    }),
  );
  showState(current);
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("token-field").hidden) {
      token = $("token").value;
      sessionStorage.setItem("ics-token", token);
    }
    const s = stateFromControls();
    history.pushState(null, "", urlOf(s));
    load(s);
  });
  $("iteration").addEventListener("change", () => $("controls").requestSubmit());
  addEventListener("popstate", () => {
    const s = stateFromUrl();
    showState(s);
    load(s);
  });
  await load(current);
}

start();
