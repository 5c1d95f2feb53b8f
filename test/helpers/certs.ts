// Throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for
// 127.0.0.1/localhost and a client certificate, both signed by that CA. EC keys: they take
// milliseconds to generate where RSA takes a noticeable fraction of a second.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

export interface TestCerts {
  dir: string;
  /** CA certificate (PEM): what a client or a broker is told to trust */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  cleanup(): void;
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as Error & { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the openssl CLI is needed to make test certificates (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

/** A certificate signed by the CA in `dir`, with the given extensions. */
async function issue(dir: string, name: string, cn: string, extensions: string[]): Promise<void> {
  await openssl(['req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', serial,
    '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
}

export async function makeCerts(): Promise<TestCerts> {
  const { dir, cleanup } = tempDir('edgebus-certs-');
  await openssl(['req', '-x509', ...NEW_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-sha256',
    '-subj', '/CN=edgebus test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await issue(dir, 'server', 'localhost', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  await issue(dir, 'client', 'edgebus-test-client', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
  ]);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    cleanup,
  };
}
