// Test-only PKI: a throwaway CA and one loopback server certificate, made with the openssl CLI.
// Processes that talk to the sandbox trust the CA through NODE_EXTRA_CA_CERTS (read at process start).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SandboxTls {
  dir: string;
  caPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: "pipe" });

/** Creates (or reuses, when already present in `dir`) the CA and a 127.0.0.1/localhost server certificate. */
export function ensureSandboxTls(dir: string): SandboxTls {
  mkdirSync(dir, { recursive: true });
  const caPath = join(dir, "ca.pem");
  const certPath = join(dir, "server.pem");
  const keyPath = join(dir, "server.key");
  if (!(existsSync(caPath) && existsSync(certPath) && existsSync(keyPath))) {
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
      "-subj", "/CN=Identity Bridge Sandbox CA", "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
    writeFileSync(join(dir, "server.ext"),
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" +
      "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], dir);
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
      "-out", "server.pem", "-days", "30", "-extfile", "server.ext"], dir);
  }
  return {
    dir,
    caPath,
    caPem: readFileSync(caPath, "utf8"),
    certPem: readFileSync(certPath, "utf8"),
    keyPem: readFileSync(keyPath, "utf8"),
  };
}
