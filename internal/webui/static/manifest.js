// SealedSecret manifests as `keyward seal` writes them, and the one kind of
// manifest the page reads: an existing SealedSecret to merge new items into.

import { labelFor, sealValue, base64 } from "./seal.js";

export const API_VERSION = "bitnami.com/v1alpha1";
export const KIND = "SealedSecret";
const NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide";
const CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide";

// Secret keys as kubectl accepts them.
const KEY_RE = /^[-._a-zA-Z0-9]+$/;

// scopeOf reads the scope annotations as internal/sealing does:
// cluster-wide wins when both say "true", anything else counts as unset.
export function scopeOf(annotations) {
  const a = annotations || {};
  if (a[CLUSTER_WIDE] === "true") return "cluster-wide";
  if (a[NAMESPACE_WIDE] === "true") return "namespace-wide";
  return "strict";
}

// withScope returns annotations saying scope: both scope annotations are
// dropped and the one for scope (if any) set.
function withScope(annotations, scope) {
  const a = { ...(annotations || {}) };
  delete a[NAMESPACE_WIDE];
  delete a[CLUSTER_WIDE];
  if (scope === "namespace-wide") a[NAMESPACE_WIDE] = "true";
  if (scope === "cluster-wide") a[CLUSTER_WIDE] = "true";
  return a;
}

function qualified(namespace, name) {
  return namespace ? `${namespace}/${name}` : name;
}

// checkItems applies kubectl's rules to the items: valid keys, each once.
// Errors name the key and its row, never the value.
function checkItems(name, items) {
  if (items.length === 0) throw new Error(`Secret "${name}": add at least one item (a key and a value or file)`);
  const seen = new Set();
  items.forEach((it, i) => {
    if (it.key.length > 253 || !KEY_RE.test(it.key)) {
      throw new Error(`Secret "${name}": item ${i + 1}: key "${it.key}" is not valid (use letters, digits, '-', '_' and '.')`);
    }
    if (seen.has(it.key)) throw new Error(`Secret "${name}": item ${i + 1}: key "${it.key}" is given twice`);
    seen.add(it.key);
  });
}

async function sealItems(key, label, items) {
  const out = {};
  for (const it of [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    out[it.key] = base64(await sealValue(key, label, it.value));
  }
  return out;
}

function nonEmpty(m) {
  return m && Object.keys(m).length > 0 ? m : undefined;
}

// sealNew seals items into a new SealedSecret, shaped as `keyward seal`
// makes one from a Secret with that name, namespace, scope and type.
export async function sealNew(key, { name, namespace, scope, type }, items) {
  if (!name) throw new Error("a Secret name is required");
  if (scope !== "cluster-wide" && !namespace) {
    throw new Error(`Secret "${name}" has no namespace, which ${scope} scope binds`);
  }
  checkItems(name, items);
  const annotations = nonEmpty(withScope({}, scope));
  const meta = { name, namespace: namespace || undefined, annotations };
  return {
    kind: KIND,
    apiVersion: API_VERSION,
    metadata: { ...meta },
    spec: {
      template: { metadata: { ...meta, annotations: annotations && { ...annotations } }, type: type || "Opaque" },
      encryptedData: await sealItems(key, labelFor(scope, namespace, name), items),
    },
  };
}

// sealInto seals items into the existing SealedSecret dst, as `keyward
// seal --merge-into` does: the items take dst's name, namespace and scope,
// because the controller opens every item of one SealedSecret with one
// label. A scope that contradicts dst's is an error. It returns a new object.
export async function sealInto(key, dst, scope, items) {
  const out = structuredClone(dst);
  const md = out.metadata || {};
  const target = scopeOf(md.annotations);
  if (scope && scope !== target) {
    throw new Error(`SealedSecret ${qualified(md.namespace, md.name)} has ${target} scope but the form says ${scope}; items in one SealedSecret share its scope`);
  }
  if (!md.name) throw new Error("the SealedSecret to merge into has no metadata.name");
  if (target !== "cluster-wide" && !md.namespace) {
    throw new Error(`SealedSecret ${md.name} has no namespace, which ${target} scope needs`);
  }
  checkItems(md.name, items);
  out.spec = out.spec || {};
  out.spec.encryptedData = {
    ...(out.spec.encryptedData || {}),
    ...(await sealItems(key, labelFor(target, md.namespace || "", md.name), items)),
  };
  const t = (out.spec.template = out.spec.template || {});
  t.metadata = t.metadata || {};
  const scoped = withScope({}, target);
  if (Object.keys(scoped).length > 0) t.metadata.annotations = { ...(t.metadata.annotations || {}), ...scoped };
  return out;
}

// checkSealedSecret checks that a parsed document is one SealedSecret.
export function checkSealedSecret(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error("the pasted text is not a SealedSecret");
  }
  if (doc.kind !== KIND || doc.apiVersion !== API_VERSION) {
    throw new Error(`the pasted object is ${doc.apiVersion || "?"} ${doc.kind || "?"}, not ${API_VERSION} ${KIND}`);
  }
  const ed = doc.spec && doc.spec.encryptedData;
  if (ed !== undefined && ed !== null && (typeof ed !== "object" || Array.isArray(ed))) {
    throw new Error("the pasted SealedSecret's spec.encryptedData is not a map");
  }
  for (const [k, v] of Object.entries(ed || {})) {
    if (typeof v !== "string") throw new Error(`the pasted SealedSecret's spec.encryptedData.${k} is not a string`);
  }
  return doc;
}

// ---- writing ----

// Field order of the Go types, so JSON output matches `keyward seal -o json`.
const ORDER = {
  top: ["kind", "apiVersion", "metadata", "spec", "status"],
  metadata: ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields"],
  spec: ["template", "data", "encryptedData"],
  template: ["metadata", "type", "immutable", "data"],
};

function ordered(obj, order, child) {
  const out = {};
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  const known = order.filter((k) => keys.includes(k));
  const rest = keys.filter((k) => !order.includes(k)).sort();
  for (const k of [...known, ...rest]) out[k] = child(k, obj[k]);
  return out;
}

function isMap(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function sortedMap(v) {
  if (!isMap(v)) return v;
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = sortedMap(v[k]);
  return out;
}

function canonicalMeta(m) {
  if (!isMap(m)) return m;
  const c = { ...m };
  if (c.creationTimestamp === null) delete c.creationTimestamp;
  return ordered(c, ORDER.metadata, (_, v) => sortedMap(v));
}

function canonical(ss) {
  return ordered(ss, ORDER.top, (k, v) => {
    if (k === "metadata") return canonicalMeta(v);
    if (k === "spec" && isMap(v)) {
      return ordered(v, ORDER.spec, (sk, sv) => {
        if (sk === "template" && isMap(sv)) {
          return ordered(sv, ORDER.template, (tk, tv) => (tk === "metadata" ? canonicalMeta(tv) : sortedMap(tv)));
        }
        return sortedMap(sv);
      });
    }
    return sortedMap(v);
  });
}

// toJSON is Go's json.MarshalIndent with two spaces and a final newline,
// including its escaping of <, > and &.
export function toJSON(ss) {
  const s = JSON.stringify(canonical(ss), null, 2).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
  return s + "\n";
}

const YAML11_WORDS = new Set(["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
  "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL"]);

function isLetter(c) {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
}
function isDigit(c) {
  return c >= "0" && c <= "9";
}

// yamlScalar writes a string: plain when it is a word of letters, digits
// and ._/+=- starting with a letter (quoted when YAML 1.1 would read it as
// a boolean or null), else double-quoted.
function yamlScalar(s) {
  if (/^[A-Za-z][A-Za-z0-9._/+=-]*$/.test(s)) return YAML11_WORDS.has(s) ? `"${s}"` : s;
  return JSON.stringify(s);
}

// keyLess is go-yaml's key order: at the first difference letters sort
// after other characters, and runs of digits compare as numbers.
function keyLess(a, b) {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] === b[i]) continue;
    const al = isLetter(a[i]);
    const bl = isLetter(b[i]);
    if (al && bl) return a[i] < b[i];
    if (al || bl) return bl;
    let an = 0;
    let bn = 0;
    let ai = i;
    let bi = i;
    for (; ai < a.length && isDigit(a[ai]); ai++) an = an * 10 + Number(a[ai]);
    for (; bi < b.length && isDigit(b[bi]); bi++) bn = bn * 10 + Number(b[bi]);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return a[i] < b[i];
  }
  return a.length < b.length;
}

function yamlValue(v, indent) {
  if (v === null) return " null\n";
  if (typeof v === "boolean" || typeof v === "number") return ` ${v}\n`;
  if (typeof v === "string") return ` ${yamlScalar(v)}\n`;
  if (Array.isArray(v)) {
    if (v.length === 0) return " []\n";
    const pad = " ".repeat(indent);
    return "\n" + v.map((e) => {
      if (isMap(e) && Object.keys(e).length > 0) return pad + "- " + yamlMap(e, indent + 2).slice(indent + 2);
      return pad + "-" + yamlValue(e, indent + 2);
    }).join("");
  }
  if (Object.keys(v).length === 0) return " {}\n";
  return "\n" + yamlMap(v, indent + 2);
}

function yamlMap(m, indent) {
  const keys = Object.keys(m).filter((k) => m[k] !== undefined);
  keys.sort((a, b) => (keyLess(a, b) ? -1 : keyLess(b, a) ? 1 : 0));
  return keys.map((k) => " ".repeat(indent) + yamlScalar(k) + ":" + yamlValue(m[k], indent)).join("");
}

// toYAML writes the document as `keyward seal -o yaml` does: introduced by
// `---`, keys in go-yaml's order.
export function toYAML(ss) {
  return "---\n" + yamlMap(JSON.parse(JSON.stringify(canonical(ss))), 0);
}

// ---- reading ----

// parseManifest reads one document of JSON, or of the block YAML that
// `keyward seal -o yaml` and kubectl write.
export function parseManifest(text) {
  const t = text.trim();
  if (t === "") throw new Error("nothing to merge into: paste a SealedSecret");
  if (t[0] === "{") {
    try {
      return JSON.parse(t);
    } catch {
      throw new Error("the pasted text starts like JSON but is not valid JSON");
    }
  }
  return parseYAML(text);
}

function unquote(s, line) {
  if (s.startsWith('"')) {
    try {
      return JSON.parse(s);
    } catch {
      throw new Error(`YAML line ${line}: a double-quoted string this page cannot read; paste JSON instead`);
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`YAML line ${line}: unterminated quoted string`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s === "null" || s === "~" || s === "") return null;
  if (s === "true" || s === "false") return s === "true";
  if (/^-?[0-9]+$/.test(s)) return Number(s);
  if (s === "{}") return {};
  if (s === "[]") return [];
  if (/^[|>&*!%@`\[{]/.test(s)) {
    throw new Error(`YAML line ${line}: this page reads plain block YAML only; paste JSON instead`);
  }
  return s.replace(/\s+#.*$/, "");
}

// parseYAML reads nested block mappings and sequences of scalars or
// mappings, with plain and quoted scalars: the shape of a SealedSecret.
// Anything else is an error naming the line.
function parseYAML(text) {
  const lines = [];
  let ended = false; // a document separator came after content
  text.split(/\r?\n/).forEach((raw, i) => {
    if (/^(---|\.\.\.)\s*$/.test(raw) || raw.startsWith("--- ")) {
      ended = lines.length > 0;
      return;
    }
    if (/^\s*(#.*)?$/.test(raw)) return;
    if (/^\t/.test(raw)) throw new Error(`YAML line ${i + 1}: tabs cannot indent YAML`);
    if (ended) throw new Error("the pasted text holds more than one document: paste one SealedSecret");
    lines.push({ indent: raw.length - raw.trimStart().length, text: raw.trim(), n: i + 1 });
  });
  if (lines.length === 0) throw new Error("nothing to merge into: paste a SealedSecret");
  let pos = 0;

  function block(indent) {
    const first = lines[pos];
    if (first.text.startsWith("- ") || first.text === "-") return seq(indent);
    return map(indent);
  }

  function entry(l, body, indent) {
    const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:#'"][^:]*?)\s*:(?:\s+(.*))?$/.exec(body);
    if (!m) throw new Error(`YAML line ${l.n}: expected "key: value"`);
    const key = unquote(m[1], l.n);
    const rest = m[2] === undefined ? "" : m[2].trim();
    if (rest !== "" && !rest.startsWith("#")) return [String(key), unquote(rest, l.n)];
    if (pos < lines.length && lines[pos].indent > indent) return [String(key), block(lines[pos].indent)];
    if (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith("- ")) {
      return [String(key), seq(indent)];
    }
    return [String(key), null];
  }

  function map(indent) {
    const out = {};
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith("- ")) {
      const l = lines[pos++];
      const [k, v] = entry(l, l.text, indent);
      out[k] = v;
    }
    if (pos < lines.length && lines[pos].indent > indent) {
      throw new Error(`YAML line ${lines[pos].n}: unexpected indentation`);
    }
    return out;
  }

  function seq(indent) {
    const out = [];
    while (pos < lines.length && lines[pos].indent === indent && (lines[pos].text.startsWith("- ") || lines[pos].text === "-")) {
      const l = lines[pos];
      const body = l.text.slice(1).trimStart();
      if (body === "") {
        pos++;
        out.push(pos < lines.length && lines[pos].indent > indent ? block(lines[pos].indent) : null);
      } else if (/^[^'"][^:]*:(\s|$)/.test(body) || /^["'].*["']\s*:(\s|$)/.test(body)) {
        // "- key: value": a mapping whose first line sits after the dash.
        const inner = indent + (l.text.length - body.length);
        lines[pos] = { indent: inner, text: body, n: l.n };
        out.push(map(inner));
      } else {
        pos++;
        out.push(unquote(body, l.n));
      }
    }
    return out;
  }

  const doc = block(lines[0].indent);
  if (pos < lines.length) throw new Error(`YAML line ${lines[pos].n}: unexpected indentation`);
  return doc;
}
