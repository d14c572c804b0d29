/**
 * Docker credential helpers (docker/docker-credential-helpers, oci-registry.md §3.5): run
 * `docker-credential-<name> get`, server URL on stdin, JSON `{ServerURL, Username, Secret}` on
 * stdout. "Not found" is a non-zero exit saying `credentials not found`, which means "anonymous",
 * not an error. A timeout bounds helpers that hang (a keychain prompt nobody answers).
 */
import { spawn } from 'node:child_process';
import { credentialError } from './errors.js';
import { credentialServerAddress } from './server-address.js';
import { makeCredential, type Credential } from './secret.js';

export interface CredentialHelperOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Environment for the helper; its PATH is where the executable is looked up. */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;
// A suffix is a name, never a path: config.json must not be able to run `docker-credential-../../x`.
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Outcome of one helper run; `missing` lets config readers treat an absent helper as "no helper". */
export type HelperResult = { kind: 'found'; credential: Credential } | { kind: 'none' } | { kind: 'missing' };

/** Runs the helper's `get`; undefined when it has nothing for the registry. */
export async function runCredentialHelper(
  name: string,
  registry: string,
  options: CredentialHelperOptions = {},
): Promise<Credential | undefined> {
  const result = await execCredentialHelper(name, registry, options);
  if (result.kind === 'missing') {
    throw credentialError(
      `credential helper docker-credential-${name} (for ${registry}) was not found on PATH; install it or remove it from your Docker config`,
    );
  }
  return result.kind === 'found' ? result.credential : undefined;
}

export function execCredentialHelper(name: string, registry: string, options: CredentialHelperOptions = {}): Promise<HelperResult> {
  const program = `docker-credential-${name}`;
  if (typeof name !== 'string' || !HELPER_NAME_RE.test(name)) {
    const problem = `invalid credential helper name ${JSON.stringify(name)} for ${registry}: expected a plain name such as "pass"`;
    return Promise.reject(credentialError(problem));
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
  return new Promise<HelperResult>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const child = spawn(program, ['get'], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        child.kill('SIGKILL');
        finish(() => reject(credentialError(`credential helper ${program} wrote more than 1 MiB for ${registry}`)));
        return;
      }
      into.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(credentialError(`credential helper ${program} did not answer within ${timeoutMs / 1000} s for ${registry}`)));
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') finish(() => resolve({ kind: 'missing' }));
      else finish(() => reject(credentialError(`could not run credential helper ${program} for ${registry}: ${e.code ?? e.message}`)));
    });
    // A helper that exits without reading stdin makes the write fail with EPIPE; its exit status says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${credentialServerAddress(registry)}\n`);
    child.on('close', (code, signal) => {
      finish(() => {
        try {
          const out = Buffer.concat(stdout).toString('utf8');
          resolve(interpret(program, registry, code, signal, out, Buffer.concat(stderr).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
    });
  });
}

function interpret(
  program: string,
  registry: string,
  code: number | null,
  signal: string | null,
  out: string,
  err: string,
): HelperResult {
  if (code !== 0) {
    const said = (out.trim() || err.trim()).split('\n')[0] ?? '';
    if (/credentials not found/i.test(said)) return { kind: 'none' };
    // Helpers report errors as one plain line; anything JSON-like might carry a secret, so drop it.
    const detail = said === '' || said.startsWith('{') ? '' : `: ${said.slice(0, 200)}`;
    throw credentialError(`credential helper ${program} failed for ${registry} (${signal ?? `exit ${code}`})${detail}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw credentialError(`credential helper ${program} returned output that is not JSON for ${registry}`);
  }
  const { Username, Secret } = (parsed ?? {}) as { Username?: unknown; Secret?: unknown };
  if (typeof Secret !== 'string' || Secret === '') return { kind: 'none' };
  // By protocol, Username "<token>" marks Secret as an identity (refresh) token.
  if (Username === '<token>') return { kind: 'found', credential: makeCredential({ identityToken: Secret }) };
  if (typeof Username !== 'string' || Username === '') {
    throw credentialError(`credential helper ${program} returned a secret without a username for ${registry}`);
  }
  return { kind: 'found', credential: makeCredential({ username: Username, password: Secret }) };
}
