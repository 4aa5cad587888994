// The page: reads the form, seals in this browser and writes the manifest.
// Nothing here sends a value anywhere or stores one beyond the page's
// memory: the only request the page makes is for the certificate.

import { loadCertificate } from "./seal.js";
import { sealNew, sealInto, toJSON, toYAML, parseManifest, checkSealedSecret, scopeOf } from "./manifest.js";

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();

const state = {
  cert: null, // { key, fingerprint, bits }
  files: new Map(), // item fieldset -> Uint8Array of the chosen file
  merged: null, // the parsed SealedSecret to merge into
  sealed: null, // the last SealedSecret made (ciphertext only), to re-render
  nextItem: 1,
};

function showError(msg) {
  $("error").textContent = msg;
}

async function useCertificate(pemText, source) {
  const cert = await loadCertificate(pemText);
  state.cert = cert;
  $("cert-status").textContent = `Sealing for the certificate ${source}.`;
  $("cert-fingerprint").textContent = cert.fingerprint;
  $("cert-bits").textContent = `RSA ${cert.bits} bits`;
  $("cert-info").hidden = false;
}

// fetchCertificate asks where the page came from: relative, so it works at
// `/` of the controller API, behind the API server's service proxy and from
// `keyward serve-ui`.
async function fetchCertificate() {
  let text;
  try {
    const r = await fetch("v1/cert.pem", { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    text = await r.text();
  } catch (e) {
    $("cert-status").textContent = `No certificate where this page was served from (${e.message}): choose or paste one below.`;
    $("cert-other").open = true;
    return;
  }
  try {
    await useCertificate(text, "served with this page");
  } catch (e) {
    $("cert-status").textContent = `The served certificate cannot be used: ${e.message}. Choose or paste one below.`;
    $("cert-other").open = true;
  }
}

function addItem() {
  const n = state.nextItem++;
  const frag = $("item-template").content.cloneNode(true);
  const fs = frag.querySelector("fieldset");
  fs.querySelector("legend").textContent = `Item ${n}`;
  for (const part of ["key", "value", "file"]) {
    const input = fs.querySelector("." + part);
    input.id = `item-${n}-${part}`;
    fs.querySelector(`.${part}-label`).htmlFor = input.id;
  }
  fs.querySelector(".remove").setAttribute("aria-label", `Remove item ${n}`);
  fs.querySelector(".remove").addEventListener("click", () => {
    state.files.delete(fs);
    fs.remove();
  });
  const file = fs.querySelector(".file");
  file.addEventListener("change", async () => {
    const f = file.files[0];
    delete fs.dataset.file;
    if (!f) {
      state.files.delete(fs);
      return;
    }
    state.files.set(fs, new Uint8Array(await f.arrayBuffer()));
    fs.dataset.file = "read";
    const key = fs.querySelector(".key");
    if (key.value === "") key.value = f.name;
  });
  $("items").appendChild(frag);
  return fs;
}

// readItems collects the items; a row with neither key nor value is skipped.
function readItems() {
  const items = [];
  $("items").querySelectorAll("fieldset.item").forEach((fs, i) => {
    const key = fs.querySelector(".key").value.trim();
    const text = fs.querySelector(".value").value;
    const file = state.files.get(fs);
    if (key === "" && text === "" && !file) return;
    if (file && text !== "") throw new Error(`item ${i + 1} ("${key}"): give a value or a file, not both`);
    if (key === "") throw new Error(`item ${i + 1}: the key is empty`);
    items.push({ key, value: file ? file.slice() : enc.encode(text) });
  });
  return items;
}

function format() {
  return $("format-json").checked ? "json" : "yaml";
}

function render() {
  const ss = state.sealed;
  $("output").value = ss === null ? "" : format() === "json" ? toJSON(ss) : toYAML(ss);
  $("download").disabled = ss === null;
}

function readMerge() {
  const text = $("merge").value;
  state.merged = null;
  if (text.trim() === "") {
    $("merge-status").textContent = "";
    for (const id of ["name", "namespace"]) $(id).readOnly = false;
    return;
  }
  try {
    const ss = checkSealedSecret(parseManifest(text));
    state.merged = ss;
    const md = ss.metadata || {};
    $("name").value = md.name || "";
    $("namespace").value = md.namespace || "";
    $("scope").value = scopeOf(md.annotations);
    for (const id of ["name", "namespace"]) $(id).readOnly = true;
    const n = Object.keys((ss.spec && ss.spec.encryptedData) || {}).length;
    $("merge-status").textContent = `Merging into ${md.namespace ? md.namespace + "/" : ""}${md.name} (${scopeOf(md.annotations)}, ${n} sealed item${n === 1 ? "" : "s"}).`;
  } catch (e) {
    for (const id of ["name", "namespace"]) $(id).readOnly = false;
    $("merge-status").textContent = e.message;
  }
}

async function onSeal(ev) {
  ev.preventDefault();
  showError("");
  state.sealed = null;
  render();
  try {
    if (!state.cert) throw new Error("no certificate: choose or paste the controller's certificate first");
    const items = readItems();
    let ss;
    try {
      if ($("merge").value.trim() !== "") {
        const dst = checkSealedSecret(parseManifest($("merge").value));
        ss = await sealInto(state.cert.key, dst, $("scope").value, items);
      } else {
        ss = await sealNew(state.cert.key, {
          name: $("name").value.trim(),
          namespace: $("namespace").value.trim(),
          scope: $("scope").value,
          type: $("type").value.trim(),
        }, items);
      }
    } finally {
      for (const it of items) it.value.fill(0);
    }
    state.sealed = ss;
    render();
    $("output").focus();
  } catch (e) {
    showError(e.message);
  }
}

// clearValues forgets every value and file the page holds.
function clearValues() {
  for (const fs of $("items").querySelectorAll("fieldset.item")) {
    fs.querySelector(".value").value = "";
    fs.querySelector(".file").value = "";
    delete fs.dataset.file;
  }
  for (const b of state.files.values()) b.fill(0);
  state.files.clear();
}

function onDownload() {
  const text = $("output").value;
  if (text === "") return;
  const name = (state.merged && state.merged.metadata && state.merged.metadata.name) || $("name").value.trim() || "sealed-secret";
  const blob = new Blob([text], { type: format() === "json" ? "application/json" : "application/yaml" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${name}-sealed.${format()}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  clearValues();
  $("error").textContent = "";
  $("merge-status").textContent = "Downloaded; the values were cleared from the page.";
}

async function onCertFile() {
  const f = $("cert-file").files[0];
  if (!f) return;
  try {
    await useCertificate(await f.text(), `from the file ${f.name}`);
  } catch (e) {
    $("cert-status").textContent = `That file cannot be used: ${e.message}`;
  }
}

async function onCertPaste() {
  try {
    await useCertificate($("cert-pem").value, "pasted");
  } catch (e) {
    $("cert-status").textContent = `The pasted certificate cannot be used: ${e.message}`;
  }
}

function init() {
  addItem();
  $("add-item").addEventListener("click", () => addItem().querySelector(".key").focus());
  $("seal-form").addEventListener("submit", onSeal);
  $("download").addEventListener("click", onDownload);
  $("clear").addEventListener("click", () => {
    clearValues();
    state.sealed = null;
    render();
  });
  $("merge").addEventListener("input", readMerge);
  $("cert-file").addEventListener("change", onCertFile);
  $("cert-use").addEventListener("click", onCertPaste);
  for (const id of ["format-yaml", "format-json"]) $(id).addEventListener("change", render);
  document.body.dataset.ready = "true";
  fetchCertificate().finally(() => {
    document.body.dataset.cert = state.cert ? "loaded" : "missing";
  });
}

init();
