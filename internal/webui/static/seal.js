// The ciphertext format of internal/seal, with WebCrypto: one value is
// sealed for one RSA public key under one label as
//   uint16 big-endian len(W) || W || AES-256-GCM(value) (ciphertext || tag)
// where W is a fresh 32-byte AES key wrapped with RSA-OAEP (SHA-256 for the
// hash and MGF1, OAEP label = scope label) and the GCM nonce is zero: safe
// only because each AES key seals exactly one value.

const enc = new TextEncoder();

// labelFor is the OAEP label of a scope for namespace/name, as
// internal/seal's Label: "namespace/name", "namespace" or empty.
export function labelFor(scope, namespace, name) {
  switch (scope) {
    case "cluster-wide":
      return new Uint8Array(0);
    case "namespace-wide":
      return enc.encode(namespace);
    default:
      return enc.encode(namespace + "/" + name);
  }
}

// pemBlocks returns the [type, DER bytes] of each PEM block in text.
export function pemBlocks(text) {
  const out = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    const b64 = m[2].replace(/\s+/g, "");
    let bin;
    try {
      bin = atob(b64);
    } catch {
      throw new Error(`the PEM block ${m[1]} is not valid base64`);
    }
    const der = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
    out.push([m[1], der]);
  }
  return out;
}

// readTLV reads one DER element at off: its tag, where its content starts
// and where the element ends.
function readTLV(der, off) {
  if (off + 2 > der.length) throw new Error("truncated DER");
  const tag = der[off];
  let len = der[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new Error("truncated DER");
  return { tag, start, end };
}

// spkiOfCertificate cuts the SubjectPublicKeyInfo out of an X.509
// certificate: Certificate ::= SEQUENCE { tbs SEQUENCE { [0] version
// (optional), serial, signature, issuer, validity, subject, spki, ... } }.
export function spkiOfCertificate(der) {
  const cert = readTLV(der, 0);
  if (cert.tag !== 0x30) throw new Error("not a certificate");
  const tbs = readTLV(der, cert.start);
  if (tbs.tag !== 0x30) throw new Error("not a certificate");
  let off = tbs.start;
  let el = readTLV(der, off);
  if (el.tag === 0xa0) {
    off = el.end; // explicit version
  }
  for (let i = 0; i < 5; i++) {
    off = readTLV(der, off).end; // serial, signature, issuer, validity, subject
  }
  el = readTLV(der, off);
  if (el.tag !== 0x30) throw new Error("certificate has no public key");
  return der.slice(off, el.end);
}

// hex writes bytes as lower-case hex.
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// base64 is standard, padded base64.
export function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

// loadCertificate reads the PEM certificate (or PUBLIC KEY) the page seals
// for. The fingerprint is `keyward keys list`'s: hex SHA-256 of the public
// key's PKIX (SubjectPublicKeyInfo) DER.
export async function loadCertificate(pemText) {
  if (!globalThis.crypto || !crypto.subtle) {
    throw new Error("this browser offers no WebCrypto here: open the page over https or from localhost");
  }
  const blocks = pemBlocks(pemText);
  let spki = null;
  for (const [type, der] of blocks) {
    if (type === "CERTIFICATE") {
      spki = spkiOfCertificate(der);
      break;
    }
    if (type === "PUBLIC KEY") {
      spki = der;
      break;
    }
  }
  if (spki === null) throw new Error("no CERTIFICATE or PUBLIC KEY PEM block found");
  let key;
  try {
    key = await crypto.subtle.importKey("spki", spki, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
  } catch {
    throw new Error("the certificate's public key is not an RSA key this browser can use");
  }
  const fingerprint = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", spki)));
  return { key, fingerprint, bits: key.algorithm.modulusLength };
}

// sealValue seals the bytes of one value for key under label and returns
// the ciphertext in internal/seal's byte format.
export async function sealValue(key, label, value) {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  try {
    const aes = await crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt"]);
    const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP", label }, key, raw));
    const body = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12), tagLength: 128 }, aes, value),
    );
    const out = new Uint8Array(2 + wrapped.length + body.length);
    out[0] = wrapped.length >> 8;
    out[1] = wrapped.length & 0xff;
    out.set(wrapped, 2);
    out.set(body, 2 + wrapped.length);
    return out;
  } finally {
    raw.fill(0);
  }
}
