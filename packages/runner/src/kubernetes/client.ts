/**
 * The few Kubernetes API calls a run makes, over @kubernetes/client-node 1.x (2.x needs Node 22),
 * with the kubeconfig read as kubectl reads it and every failure turned into a KitError that says
 * what was being done.
 */
import http from 'node:http';
import https from 'node:https';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BatchV1Api, CoreV1Api, KubeConfig, V1Job, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { KitError } from '@modelkit/core';

export interface KubeTarget {
  /** A kubeconfig file; default $KUBECONFIG, else ~/.kube/config, else the in-cluster service account. */
  kubeconfig?: string;
  context?: string;
  /** Default: the context's namespace, else `default`. */
  namespace?: string;
}

export interface LogRequest {
  pod: string;
  container: string;
  follow: boolean;
  timestamps: boolean;
  /** RFC 3339, whole seconds: the API server reads no finer. */
  sinceTime?: string;
}

/** The parts of the API a run uses; the submitter takes any implementation (tests pass a double of the server, not of this). */
export class KubeClient {
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;

  private constructor(
    private readonly config: KubeConfig,
    readonly namespace: string,
    readonly context: string,
    readonly server: string,
    api: typeof import('@kubernetes/client-node'),
  ) {
    this.core = config.makeApiClient(api.CoreV1Api);
    this.batch = config.makeApiClient(api.BatchV1Api);
  }

  /** Loaded when a run needs it: importing the client library would cost every other kit command a third of a second. */
  static async load(target: KubeTarget = {}, env: NodeJS.ProcessEnv = process.env): Promise<KubeClient> {
    const api = await import('@kubernetes/client-node');
    const config = new api.KubeConfig();
    try {
      if (target.kubeconfig) config.loadFromFile(target.kubeconfig);
      else if (!env.KUBECONFIG && !existsSync(join(env.HOME || homedir(), '.kube', 'config')) && !env.KUBERNETES_SERVICE_HOST) {
        throw new KitError('NOT_FOUND', 'no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or write ~/.kube/config (as kubectl reads it)');
      } else config.loadFromDefault();
    } catch (e) {
      if (e instanceof KitError) throw e;
      throw new KitError('INVALID_ARGUMENT', `could not read the kubeconfig ${target.kubeconfig ?? env.KUBECONFIG ?? '~/.kube/config'}: ${(e as Error).message}`);
    }
    if (target.context) {
      if (!config.getContextObject(target.context)) {
        throw new KitError('INVALID_ARGUMENT', `--context ${target.context}: no such context in the kubeconfig (it has ${config.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      }
      config.setCurrentContext(target.context);
    }
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new KitError('INVALID_ARGUMENT', 'the kubeconfig has no current context: pass --context NAME or run `kubectl config use-context NAME`');
    const namespace = target.namespace ?? config.getContextObject(config.getCurrentContext())?.namespace ?? 'default';
    return new KubeClient(config, namespace, config.getCurrentContext(), cluster.server, api);
  }

  createSecret(body: V1Secret): Promise<V1Secret> {
    return call(`create Secret ${body.metadata?.name}`, () => this.core.createNamespacedSecret({ namespace: this.namespace, body }));
  }

  replaceSecret(body: V1Secret): Promise<V1Secret> {
    return call(`update Secret ${body.metadata?.name}`, () => this.core.replaceNamespacedSecret({ name: body.metadata!.name!, namespace: this.namespace, body }));
  }

  async deleteSecret(name: string): Promise<void> {
    await call(`delete Secret ${name}`, () => this.core.deleteNamespacedSecret({ name, namespace: this.namespace }), true);
  }

  createService(body: V1Service): Promise<V1Service> {
    return call(`create Service ${body.metadata?.name}`, () => this.core.createNamespacedService({ namespace: this.namespace, body }));
  }

  async deleteService(name: string): Promise<void> {
    await call(`delete Service ${name}`, () => this.core.deleteNamespacedService({ name, namespace: this.namespace }), true);
  }

  createJob(body: V1Job): Promise<V1Job> {
    return call(`create Job ${body.metadata?.name}`, () => this.batch.createNamespacedJob({ namespace: this.namespace, body }));
  }

  /** The Job, or undefined once it is gone (deleted, or removed by its TTL). */
  readJob(name: string): Promise<V1Job | undefined> {
    return call(`read Job ${name}`, () => this.batch.readNamespacedJob({ name, namespace: this.namespace }), true);
  }

  /** Background propagation: the call returns at once and the garbage collector stops the pods. */
  async deleteJob(name: string): Promise<void> {
    await call(`delete Job ${name}`, () => this.batch.deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy: 'Background' }), true);
  }

  async listPods(labelSelector: string): Promise<V1Pod[]> {
    const list = await call(`list pods ${labelSelector}`, () => this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }));
    return list.items;
  }

  /**
   * A container's log as a byte stream. Not client-node's Log helper: it pipes into a writable and
   * drops the response's errors, so a cut connection would look like a log that never ends.
   */
  async streamLog(request: LogRequest, signal: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(`${this.server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods/${encodeURIComponent(request.pod)}/log`);
    url.searchParams.set('container', request.container);
    if (request.follow) url.searchParams.set('follow', 'true');
    if (request.timestamps) url.searchParams.set('timestamps', 'true');
    if (request.sinceTime) url.searchParams.set('sinceTime', request.sinceTime);
    const options: https.RequestOptions = { method: 'GET', signal };
    await this.config.applyToHTTPSOptions(options);
    const what = `read the log of ${request.pod}/${request.container}`;
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
        if (res.statusCode === 200) return resolve(res);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(apiError(what, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', reject);
      });
      req.on('error', (e) => reject(signal.aborted ? e : new KitError('NETWORK', `could not ${what} at ${this.server}: ${(e as Error).message}`, { cause: e })));
      req.end();
    });
  }
}

/** One API call; a 404 is `undefined` where the caller says absence is an answer. */
async function call<T>(what: string, fn: () => Promise<T>, notFoundOk: true): Promise<T | undefined>;
async function call<T>(what: string, fn: () => Promise<T>, notFoundOk?: false): Promise<T>;
async function call<T>(what: string, fn: () => Promise<T>, notFoundOk = false): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const status = (e as { code?: unknown }).code;
    if (typeof status === 'number') {
      if (status === 404 && notFoundOk) return undefined;
      throw apiError(what, status, (e as { body?: unknown }).body);
    }
    throw new KitError('NETWORK', `could not ${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** The API server's Status message, with the code that says what kind of failure it is. */
export function apiError(what: string, status: number, body: unknown): KitError {
  let message: string | undefined;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string } | undefined;
    message = parsed?.message;
  } catch {
    message = typeof body === 'string' ? body.slice(0, 300) : undefined;
  }
  const said = `could not ${what}: ${message ?? `HTTP ${status}`}`;
  if (status === 401 || status === 403) return new KitError('UNAUTHORIZED', `${said} (check the kubeconfig's user and its RBAC rights in the namespace)`);
  if (status === 404) return new KitError('NOT_FOUND', said);
  if (status === 409) return new KitError('ALREADY_EXISTS', said);
  if (status >= 400 && status < 500) return new KitError('INVALID_ARGUMENT', said);
  return new KitError('NETWORK', said);
}
