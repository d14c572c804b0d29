import { request } from 'undici';
import { kitopsHome } from '@modelkit/core';
import { AuthManager, defaultCredentials, type AuthHttp } from './auth/index.js';
import { parseDockerReference, registryHost, type DockerReference } from './reference.js';
import { RemoteRepository } from './repository.js';
import { readCapped, Transport, type TransportOptions } from './transport.js';

/** Token responses are small; anything bigger is refused (oras-go caps them at 4 MiB too). */
const MAX_TOKEN_RESPONSE = 4 << 20;

export interface ClientOptions extends Omit<TransportOptions, 'auth'> {
  /** Where kit's own credentials.json lives (default: KITOPS_HOME). */
  kitopsHome?: string;
  env?: NodeJS.ProcessEnv;
}

/** The HTTP the token service needs, on undici, with the response size capped while streaming. */
export const authHttp: AuthHttp = async (url, init) => {
  const res = await request(url, { method: init.method as 'GET' | 'POST', headers: init.headers, body: init.body });
  const text = await readCapped(res.body as AsyncIterable<Buffer>, MAX_TOKEN_RESPONSE, `token response from ${new URL(url).host}`);
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(res.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return { status: res.statusCode, headers, text: async () => text, json: async () => JSON.parse(text) as unknown };
};

/** A registry client session: one transport (connection pool, token cache) per registry. */
export class RegistryClient {
  private readonly transports = new Map<string, Transport>();
  private readonly auth: AuthManager;

  constructor(private readonly options: ClientOptions = {}) {
    const env = options.env ?? process.env;
    this.auth = new AuthManager(defaultCredentials({ kitopsHome: options.kitopsHome ?? kitopsHome(env), env }), authHttp);
  }

  /** The repository a Docker-style reference names, and the tag or digest in it. */
  repository(reference: string | DockerReference): { repository: RemoteRepository; reference: DockerReference; target: string } {
    const ref = typeof reference === 'string' ? parseDockerReference(reference) : reference;
    const host = registryHost(ref.registry);
    let transport = this.transports.get(host);
    if (!transport) {
      transport = new Transport(host, { ...this.options, auth: this.auth });
      this.transports.set(host, transport);
    }
    return { repository: new RemoteRepository(transport, ref.repository), reference: ref, target: ref.digest ?? ref.tag ?? 'latest' };
  }

  async close(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }
}
