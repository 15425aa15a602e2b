// Test-only PKI: a throwaway CA and one loopback server certificate, made in-process (Node's RSA key
// generation, node-forge for the X.509 encoding) so a fresh machine needs Node alone — no openssl CLI.
// Processes that talk to the sandbox trust the CA through NODE_EXTRA_CA_CERTS (read at process start).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

export interface SandboxTls {
  dir: string;
  caPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const VALIDITY_DAYS = 30;

interface KeyPair { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string }

/** RSA keys come from Node's native generator: node-forge's pure-JS generator takes seconds. */
function rsaKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem: privateKey };
}

function newCertificate(publicKey: forge.pki.PublicKey, subject: forge.pki.CertificateField[], issuer: forge.pki.CertificateField[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive serial: a leading 0x00..0x7f byte keeps the DER INTEGER non-negative.
  cert.serialNumber = `01${randomBytes(15).toString("hex")}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + VALIDITY_DAYS * 86_400_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  return cert;
}

function makeCa(commonName: string): { cert: forge.pki.Certificate; key: KeyPair } {
  const key = rsaKeyPair();
  const name = [{ name: "commonName", value: commonName }];
  const cert = newCertificate(key.publicKey, name, name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(key.privateKey, forge.md.sha256.create());
  return { cert, key };
}

function makeServerCertificate(ca: { cert: forge.pki.Certificate; key: KeyPair }): { certPem: string; keyPem: string } {
  const key = rsaKeyPair();
  const cert = newCertificate(key.publicKey, [{ name: "commonName", value: "127.0.0.1" }], ca.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] },
    { name: "authorityKeyIdentifier", keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: key.pem };
}

/** A self-signed certificate and its key (a client credential's certificate in tests), made in-process. */
export function selfSignedCertificate(commonName: string): { certPem: string; keyPem: string } {
  const key = rsaKeyPair();
  const name = [{ name: "commonName", value: commonName }];
  const cert = newCertificate(key.publicKey, name, name);
  cert.sign(key.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: key.pem };
}

/**
 * Creates (or reuses, when already present in `dir`) the CA and a 127.0.0.1/localhost server certificate.
 * `caName`: the CA's common name (a second, separate CA, such as the on-premises PKI, gets its own).
 */
export function ensureSandboxTls(dir: string, caName = "Identity Bridge Sandbox CA"): SandboxTls {
  mkdirSync(dir, { recursive: true });
  const caPath = join(dir, "ca.pem");
  const certPath = join(dir, "server.pem");
  const keyPath = join(dir, "server.key");
  if (!(existsSync(caPath) && existsSync(certPath) && existsSync(keyPath))) {
    const ca = makeCa(caName);
    const server = makeServerCertificate(ca);
    // The CA's private key is never written: nothing signs with it after start-up.
    writeFileSync(caPath, forge.pki.certificateToPem(ca.cert));
    writeFileSync(keyPath, server.keyPem, { mode: 0o600 });
    writeFileSync(certPath, server.certPem);
  }
  return {
    dir,
    caPath,
    caPem: readFileSync(caPath, "utf8"),
    certPem: readFileSync(certPath, "utf8"),
    keyPem: readFileSync(keyPath, "utf8"),
  };
}
