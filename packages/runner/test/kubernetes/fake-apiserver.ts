/**
 * TEST DOUBLE of a Kubernetes API server and kubelet. No Kubernetes cluster can run on the machines
 * this project is developed and tested on (no container runtime, no kubelet), so the submit /
 * follow / cancel flow of `kit run --backend kubernetes` is tested against this instead. It is NOT
 * Kubernetes: it implements only the calls the runner makes, in the shapes the real API uses
 * (plain HTTP on 127.0.0.1; the kubeconfig it writes sets insecure-skip-tls-verify, which
 * @kubernetes/client-node requires for http://):
 *
 * - Secrets and Services: create, read, replace, delete; Jobs: create, read, delete (with
 *   propagationPolicy: Background stops and removes the pods; the API's default for Jobs orphans
 *   them, and so does this double); pods: list by labelSelector, read, and their logs (container,
 *   follow, timestamps as RFC3339Nano, sinceTime).
 * - A job controller: one pod per completion (Indexed: the completion-index annotation), the Job's
 *   Complete / Failed conditions with the real reasons (BackoffLimitExceeded, PodFailurePolicy,
 *   DeadlineExceeded from activeDeadlineSeconds).
 * - A kubelet that "runs" a pod by executing each container's command as a local process, init
 *   containers in order, then the containers; images are ignored. `kit` (the kit image) is this
 *   repository's built CLI. The env comes from the manifest (value, secretKeyRef from the stored
 *   Secret, fieldRef). There are no mount namespaces: every occurrence of the manifests' mount root
 *   (default /kit) in commands, env, workingDir and paths is rewritten to a per-pod temp directory,
 *   so the pod's containers share its volumes as they would. Secret volumes are written there;
 *   other volumes (/dev/shm) are the host's. A container's termination message is read from its
 *   terminationMessagePath. Containers asking for nvidia.com/gpu get `gpuPath` first on PATH (the
 *   repository's fake nvidia-smi).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

type Obj = Record<string, any>; // the double deals in JSON objects, as the API server does

export interface FakeClusterOptions {
  /** argv that stands for `kit` in the kit image, e.g. [process.execPath, 'packages/cli/dist/main.js']. */
  kit: string[];
  /** The manifests' mount root (default /kit), rewritten to each pod's own directory. */
  mountRoot?: string;
  /** Pods stay unschedulable this long, with the scheduler's message. */
  unschedulableMs?: number;
  /** Cut the first follow stream of every container after this long (the follower must resume). */
  cutLogStreamsAfterMs?: number;
  /** Put first on PATH for containers with nvidia.com/gpu limits (a fake nvidia-smi). */
  gpuPath?: string;
  /** Extra env for every container process. */
  env?: Record<string, string>;
  /** Between SIGTERM and SIGKILL when pods are stopped (default 2 s). */
  graceMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

interface LogEntry {
  stamp: string;
  seconds: number;
  data: Buffer;
}

interface RunningContainer {
  entries: LogEntry[];
  listeners: Set<() => void>;
  ended: boolean;
  cut: boolean;
  child?: ChildProcess;
}

interface PodRuntime {
  dir: string;
  containers: Map<string, RunningContainer>;
  stopped: boolean;
}

export interface FakeCluster {
  url: string;
  /** Every request, in order. */
  requests: RecordedRequest[];
  secrets: Map<string, Obj>;
  services: Map<string, Obj>;
  jobs: Map<string, Obj>;
  pods: Map<string, Obj>;
  /** Writes a kubeconfig for this server (context `fake`, namespace as given) and returns its path. */
  kubeconfig(namespace?: string): Promise<string>;
  /** Processes the kubelet started that have not exited. */
  running(): number;
  stop(): Promise<void>;
}

export async function startFakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  const root = options.mountRoot ?? '/kit';
  const base = await mkdtemp(join(tmpdir(), 'kit-fake-k8s-'));
  const requests: RecordedRequest[] = [];
  const secrets = new Map<string, Obj>();
  const services = new Map<string, Obj>();
  const jobs = new Map<string, Obj>();
  const pods = new Map<string, Obj>();
  const runtimes = new Map<string, PodRuntime>();
  const timers = new Set<NodeJS.Timeout>();
  let resourceVersion = 1;
  let lastStampNs = 0n;

  const key = (ns: string, name: string) => `${ns}/${name}`;
  const meta = (o: Obj, ns: string) => {
    o.metadata = { ...o.metadata, namespace: ns, uid: randomUUID(), resourceVersion: String(resourceVersion++), creationTimestamp: new Date().toISOString() };
    return o;
  };

  // RFC3339Nano as the kubelet writes it: nanoseconds, trailing zeros trimmed; strictly increasing.
  const stampNow = (): { stamp: string; seconds: number } => {
    let ns = BigInt(Date.now()) * 1_000_000n;
    if (ns <= lastStampNs) ns = lastStampNs + 1n;
    lastStampNs = ns;
    const seconds = Number(ns / 1_000_000_000n);
    const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
    return { stamp: `${new Date(seconds * 1000).toISOString().slice(0, 19)}${frac ? `.${frac}` : ''}Z`, seconds };
  };

  // ---- the kubelet ------------------------------------------------------------------------------

  const rootPattern = new RegExp(`${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$|[^A-Za-z0-9._-])`, 'g');
  const rewrite = (text: string, dir: string) => text.replace(rootPattern, dir);

  function setStatus(pod: Obj, container: string, state: Obj): void {
    const lists = [pod.status.initContainerStatuses as Obj[], pod.status.containerStatuses as Obj[]];
    for (const list of lists) {
      const s = list.find((c) => c.name === container);
      if (s) {
        s.state = state;
        s.ready = false;
        s.started = !!state.running;
      }
    }
    pod.metadata.resourceVersion = String(resourceVersion++);
  }

  async function resolveEnv(pod: Obj, container: Obj, dir: string): Promise<Record<string, string> | string> {
    const env: Record<string, string> = {};
    for (const e of (container.env ?? []) as Obj[]) {
      if (e.value !== undefined) env[e.name] = rewrite(String(e.value), dir);
      else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const secret = secrets.get(key(pod.metadata.namespace, ref.name));
        const value = secret?.data?.[ref.key];
        if (value === undefined) return `secret "${ref.name}" or its key "${ref.key}" not found`;
        env[e.name] = Buffer.from(value, 'base64').toString('utf8');
      } else if (e.valueFrom?.fieldRef) {
        const path: string = e.valueFrom.fieldRef.fieldPath;
        const m = /^metadata\.(annotations|labels)\['(.+)'\]$/.exec(path);
        if (m) env[e.name] = pod.metadata[m[1]!]?.[m[2]!] ?? '';
        else if (path === 'metadata.name') env[e.name] = pod.metadata.name;
        else if (path === 'metadata.namespace') env[e.name] = pod.metadata.namespace;
        else if (path === 'spec.nodeName') env[e.name] = pod.spec.nodeName ?? '';
        else if (path === 'status.podIP') env[e.name] = '127.0.0.1';
        else return `unsupported fieldRef ${path}`;
      }
    }
    return env;
  }

  /** One container as a local process; resolves with its exit code. */
  async function runContainer(pod: Obj, container: Obj, runtime: PodRuntime): Promise<number> {
    const running = runtime.containers.get(container.name)!;
    let env: Record<string, string> | string;
    for (;;) {
      env = await resolveEnv(pod, container, runtime.dir);
      if (typeof env !== 'string' || runtime.stopped) break;
      setStatus(pod, container.name, { waiting: { reason: 'CreateContainerConfigError', message: env } });
      await sleep(200);
    }
    if (runtime.stopped) return 137;
    const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a: string) => rewrite(a, runtime.dir));
    const exe = argv[0] === 'kit' ? [...options.kit, ...argv.slice(1)] : argv;
    const terminationPath = rewrite(container.terminationMessagePath ?? '/dev/termination-log', runtime.dir);
    const ownTermination = terminationPath.startsWith(runtime.dir);
    if (ownTermination) {
      await mkdir(dirname(terminationPath), { recursive: true });
      await writeFile(terminationPath, '');
    }
    const gpus = Number(container.resources?.limits?.['nvidia.com/gpu'] ?? 0);
    const path = `${gpus > 0 && options.gpuPath ? `${options.gpuPath}:` : ''}${process.env.PATH}`;
    const startedAt = new Date().toISOString();
    const child = spawn(exe[0]!, exe.slice(1), {
      cwd: container.workingDir ? rewrite(container.workingDir, runtime.dir) : runtime.dir,
      env: { PATH: path, HOME: runtime.dir, HOSTNAME: pod.spec.hostname ?? pod.metadata.name, ...options.env, ...(env as Record<string, string>) },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.child = child;
    setStatus(pod, container.name, { running: { startedAt } });
    const partial = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
    const push = (data: Buffer) => {
      const { stamp, seconds } = stampNow();
      running.entries.push({ stamp, seconds, data });
      for (const l of running.listeners) l();
    };
    const take = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      let data = Buffer.concat([partial[stream], chunk]);
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
        push(data.subarray(0, nl + 1));
        data = data.subarray(nl + 1);
      }
      partial[stream] = Buffer.from(data);
    };
    child.stdout!.on('data', take('stdout'));
    child.stderr!.on('data', take('stderr'));
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('close', (c, s) => done({ code: c, signal: s })));
    for (const s of ['stdout', 'stderr'] as const) if (partial[s].length > 0) push(partial[s]);
    const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
    const message = ownTermination ? (await readFile(terminationPath).catch(() => Buffer.alloc(0))).subarray(0, 4096).toString('utf8') : '';
    setStatus(pod, container.name, {
      terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', ...(message ? { message } : {}), startedAt, finishedAt: new Date().toISOString() },
    });
    running.ended = true;
    running.child = undefined;
    for (const l of running.listeners) l();
    return exitCode;
  }

  async function writeSecretVolumes(pod: Obj, dir: string): Promise<boolean> {
    const volumes = (pod.spec.volumes ?? []) as Obj[];
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers] as Obj[];
    for (const volume of volumes) {
      const paths = new Set(containers.flatMap((c) => ((c.volumeMounts ?? []) as Obj[]).filter((m) => m.name === volume.name).map((m) => rewrite(m.mountPath, dir))));
      for (const path of paths) {
        if (!path.startsWith(dir)) continue; // /dev/shm and the like: the host's own
        await mkdir(path, { recursive: true });
        if (!volume.secret) continue;
        const secret = secrets.get(key(pod.metadata.namespace, volume.secret.secretName));
        if (!secret) return false;
        const items: Obj[] = volume.secret.items ?? Object.keys(secret.data ?? {}).map((k) => ({ key: k, path: k }));
        for (const item of items) {
          await writeFile(join(path, item.path), Buffer.from(secret.data[item.key] ?? '', 'base64'), { mode: item.mode ?? volume.secret.defaultMode ?? 0o644 });
        }
      }
    }
    return true;
  }

  async function runPod(pod: Obj, job: Obj): Promise<void> {
    const runtime = runtimes.get(pod.metadata.uid)!;
    if (options.unschedulableMs) {
      pod.status.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.' }];
      await sleep(options.unschedulableMs);
    }
    if (runtime.stopped) return;
    pod.spec.nodeName = `fake-node-${pod.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] ?? 0}`;
    pod.status.conditions = [{ type: 'PodScheduled', status: 'True' }];
    await mkdir(runtime.dir, { recursive: true });
    while (!(await writeSecretVolumes(pod, runtime.dir))) {
      if (runtime.stopped) return;
      await sleep(200); // the kubelet retries a mount whose Secret does not exist yet
    }
    pod.status.podIP = '127.0.0.1';
    for (const container of pod.spec.initContainers ?? []) {
      const code = await runContainer(pod, container, runtime);
      if (code !== 0 || runtime.stopped) return podEnded(pod, job, false);
    }
    pod.status.phase = 'Running';
    const codes = await Promise.all((pod.spec.containers as Obj[]).map((c) => runContainer(pod, c, runtime)));
    podEnded(pod, job, codes.every((c) => c === 0) && !runtime.stopped);
  }

  function podEnded(pod: Obj, job: Obj, ok: boolean): void {
    pod.status.phase = ok ? 'Succeeded' : 'Failed';
    pod.metadata.resourceVersion = String(resourceVersion++);
    if (!jobs.has(key(job.metadata.namespace, job.metadata.name)) || jobEnded(job)) return;
    const mine = [...pods.values()].filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === job.metadata.name);
    job.status.active = mine.filter((p) => p.status.phase === 'Pending' || p.status.phase === 'Running').length;
    job.status.succeeded = mine.filter((p) => p.status.phase === 'Succeeded').length;
    job.status.failed = mine.filter((p) => p.status.phase === 'Failed').length;
    if (!ok) {
      const rules: Obj[] = job.spec.podFailurePolicy?.rules ?? [];
      const failedContainer = [...pod.status.initContainerStatuses, ...pod.status.containerStatuses].find((s: Obj) => s.state?.terminated && s.state.terminated.exitCode !== 0);
      const index = rules.findIndex((r) => r.onExitCodes && failedContainer && r.onExitCodes.operator === 'NotIn' && !r.onExitCodes.values.includes(failedContainer.state.terminated.exitCode));
      const rule = index >= 0 ? rules[index]! : undefined;
      if (rule?.action === 'FailJob') {
        finishJob(job, 'Failed', 'PodFailurePolicy', `Container ${failedContainer!.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${failedContainer!.state.terminated.exitCode} matching FailJob rule at index ${index}`);
      } else if (job.status.failed > (job.spec.backoffLimit ?? 6)) {
        finishJob(job, 'Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      }
      return;
    }
    if (job.status.succeeded >= (job.spec.completions ?? 1)) finishJob(job, 'Complete', undefined, undefined);
  }

  function jobEnded(job: Obj): boolean {
    return ((job.status.conditions ?? []) as Obj[]).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  }

  function finishJob(job: Obj, type: 'Complete' | 'Failed', reason: string | undefined, message: string | undefined): void {
    const now = new Date().toISOString();
    const first = type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
    job.status.conditions = [
      { type: first, status: 'True', lastTransitionTime: now, lastProbeTime: now, ...(reason ? { reason, message } : {}) },
      { type, status: 'True', lastTransitionTime: now, lastProbeTime: now, ...(reason ? { reason, message } : {}) },
    ];
    if (type === 'Complete') job.status.completionTime = now;
    job.metadata.resourceVersion = String(resourceVersion++);
    // The job controller stops what is still running of a failed Job.
    if (type === 'Failed') for (const pod of podsOf(job)) void stopPod(pod, false);
  }

  function podsOf(job: Obj): Obj[] {
    return [...pods.values()].filter((p) => p.metadata.ownerReferences?.[0]?.uid === job.metadata.uid);
  }

  /** SIGTERM to each container's process group, SIGKILL after the grace period; optionally remove the pod. */
  async function stopPod(pod: Obj, remove: boolean): Promise<void> {
    const runtime = runtimes.get(pod.metadata.uid);
    if (runtime) {
      runtime.stopped = true;
      const children = [...runtime.containers.values()].map((c) => c.child).filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null);
      for (const child of children) signalGroup(child, 'SIGTERM');
      const killer = setTimeout(() => children.forEach((c) => signalGroup(c, 'SIGKILL')), options.graceMs ?? 2000);
      timers.add(killer);
      await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((done) => c.once('close', done)))));
      clearTimeout(killer);
      timers.delete(killer);
    }
    if (remove) pods.delete(key(pod.metadata.namespace, pod.metadata.name));
  }

  function createPods(job: Obj): void {
    const indexed = job.spec.completionMode === 'Indexed';
    const count = job.spec.parallelism ?? 1;
    const template = structuredClone(job.spec.template) as Obj;
    for (let index = 0; index < count; index++) {
      const name = `${job.metadata.name}-${indexed ? `${index}-` : ''}${randomBytes(3).toString('hex').slice(0, 5)}`;
      const spec = structuredClone(template.spec) as Obj;
      if (indexed) spec.hostname = `${job.metadata.name}-${index}`;
      const waiting = (c: Obj) => ({ name: c.name, image: c.image, ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'PodInitializing' } } });
      const pod: Obj = meta(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name,
            labels: { ...template.metadata?.labels, 'batch.kubernetes.io/job-name': job.metadata.name, 'job-name': job.metadata.name, 'batch.kubernetes.io/controller-uid': job.metadata.uid },
            annotations: indexed ? { 'batch.kubernetes.io/job-completion-index': String(index) } : {},
            ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
          },
          spec,
          status: { phase: 'Pending', conditions: [], initContainerStatuses: (spec.initContainers ?? []).map(waiting), containerStatuses: spec.containers.map(waiting) },
        },
        job.metadata.namespace,
      );
      pods.set(key(pod.metadata.namespace, name), pod);
      const containers = new Map<string, RunningContainer>();
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) containers.set(c.name, { entries: [], listeners: new Set(), ended: false, cut: false });
      runtimes.set(pod.metadata.uid, { dir: join(base, 'pods', name), containers, stopped: false });
      void runPod(pod, job);
    }
    if (job.spec.activeDeadlineSeconds !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (jobs.has(key(job.metadata.namespace, job.metadata.name)) && !jobEnded(job)) finishJob(job, 'Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
      }, job.spec.activeDeadlineSeconds * 1000);
      timers.add(timer);
    }
  }

  // ---- the API server ---------------------------------------------------------------------------

  const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

  function collection(map: Map<string, Obj>, kind: string) {
    return {
      create(ns: string, body: Obj): [number, Obj] {
        const name = body.metadata?.name;
        if (!name) return [422, status(422, 'Invalid', `${kind} name is required`)];
        if (map.has(key(ns, name))) return [409, status(409, 'AlreadyExists', `${kind.toLowerCase()}s "${name}" already exists`)];
        const created = meta(structuredClone(body), ns);
        map.set(key(ns, name), created);
        return [201, created];
      },
      get(ns: string, name: string): [number, Obj] {
        const found = map.get(key(ns, name));
        return found ? [200, found] : [404, status(404, 'NotFound', `${kind.toLowerCase()}s "${name}" not found`)];
      },
      replace(ns: string, name: string, body: Obj): [number, Obj] {
        const found = map.get(key(ns, name));
        if (!found) return [404, status(404, 'NotFound', `${kind.toLowerCase()}s "${name}" not found`)];
        if (found.immutable && JSON.stringify(found.data) !== JSON.stringify(body.data)) return [422, status(422, 'Invalid', 'field is immutable when `immutable` is set')];
        const replaced = { ...structuredClone(body), metadata: { ...body.metadata, namespace: ns, uid: found.metadata.uid, creationTimestamp: found.metadata.creationTimestamp, resourceVersion: String(resourceVersion++) } };
        map.set(key(ns, name), replaced);
        return [200, replaced];
      },
      remove(ns: string, name: string): [number, Obj] {
        const found = map.get(key(ns, name));
        if (!found) return [404, status(404, 'NotFound', `${kind.toLowerCase()}s "${name}" not found`)];
        map.delete(key(ns, name));
        return [200, found];
      },
    };
  }
  const secretApi = collection(secrets, 'Secret');
  const serviceApi = collection(services, 'Service');
  const jobApi = collection(jobs, 'Job');

  const matches = (labels: Record<string, string> | undefined, selector: string | undefined) =>
    !selector || selector.split(',').every((term) => {
      const [k, v] = term.split('=');
      return labels?.[k!] === v;
    });

  /** Dependents (by owner uid) go when their owner goes, as the garbage collector does. */
  function collectGarbage(uid: string): void {
    for (const map of [secrets, services]) for (const [k, o] of map) if (((o.metadata.ownerReferences ?? []) as Obj[]).some((r) => r.uid === uid)) map.delete(k);
  }

  async function serveLog(req: http.IncomingMessage, res: http.ServerResponse, ns: string, podName: string, query: Record<string, string>): Promise<void> {
    const pod = pods.get(key(ns, podName));
    if (!pod) return send(res, 404, status(404, 'NotFound', `pods "${podName}" not found`));
    const runtime = runtimes.get(pod.metadata.uid)!;
    const name = query.container ?? pod.spec.containers[0].name;
    const c = runtime.containers.get(name);
    if (!c) return send(res, 400, status(400, 'BadRequest', `container ${name} is not valid for pod ${podName}`));
    const statusOf = [...pod.status.initContainerStatuses, ...pod.status.containerStatuses].find((s: Obj) => s.name === name);
    if (statusOf?.state?.waiting) return send(res, 400, status(400, 'BadRequest', `container "${name}" in pod "${podName}" is waiting to start: ${statusOf.state.waiting.reason}`));
    const since = query.sinceTime ? Date.parse(query.sinceTime) / 1000 : undefined;
    const follow = query.follow === 'true';
    const timestamps = query.timestamps === 'true';
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    let sent = 0;
    const flush = () => {
      for (; sent < c.entries.length; sent++) {
        const e = c.entries[sent]!;
        if (since !== undefined && e.seconds < since) continue;
        res.write(timestamps ? Buffer.concat([Buffer.from(`${e.stamp} `), e.data]) : e.data);
      }
      if (!follow || c.ended) res.end();
    };
    flush();
    if (!follow || c.ended) return;
    const listener = () => flush();
    c.listeners.add(listener);
    let cutter: NodeJS.Timeout | undefined;
    if (options.cutLogStreamsAfterMs !== undefined && !c.cut) {
      c.cut = true;
      cutter = setTimeout(() => res.destroy(), options.cutLogStreamsAfterMs);
      timers.add(cutter);
    }
    await new Promise<void>((done) => res.once('close', done));
    c.listeners.delete(listener);
    if (cutter) {
      clearTimeout(cutter);
      timers.delete(cutter);
    }
  }

  function send(res: http.ServerResponse, code: number, body: Obj): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj) : undefined;
    const m = /^\/(?:api\/v1|apis\/batch\/v1)\/namespaces\/([^/]+)\/(secrets|services|jobs|pods)(?:\/([^/]+))?(?:\/(log|status))?$/.exec(url.pathname);
    if (!m) return send(res, 404, status(404, 'NotFound', `the fake API server does not serve ${req.method} ${url.pathname}`));
    const [, ns, resource, name, sub] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const method = req.method;
    if (resource === 'pods') {
      if (name && sub === 'log') return serveLog(req, res, ns, name, query);
      if (name) {
        const pod = pods.get(key(ns, name));
        return pod ? send(res, 200, pod) : send(res, 404, status(404, 'NotFound', `pods "${name}" not found`));
      }
      const items = [...pods.values()].filter((p) => p.metadata.namespace === ns && matches(p.metadata.labels, query.labelSelector));
      return send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) }, items });
    }
    const api = resource === 'secrets' ? secretApi : resource === 'services' ? serviceApi : jobApi;
    if (!name && method === 'POST') {
      const [code, out] = api.create(ns, body ?? {});
      if (resource === 'jobs' && code === 201) {
        out.status = { active: out.spec.parallelism ?? 1, startTime: new Date().toISOString() };
        createPods(out);
      }
      return send(res, code, out);
    }
    if (name && method === 'GET') return send(res, ...api.get(ns, name));
    if (name && method === 'PUT') return send(res, ...api.replace(ns, name, body ?? {}));
    if (name && method === 'DELETE') {
      const [code, out] = api.remove(ns, name);
      if (code === 200) {
        collectGarbage(out.metadata.uid);
        if (resource === 'jobs' && (query.propagationPolicy === 'Background' || query.propagationPolicy === 'Foreground')) {
          for (const pod of podsOf(out)) void stopPod(pod, true);
        }
      }
      return send(res, code, resource === 'jobs' ? out : status(200, 'Success', 'deleted'));
    }
    send(res, 405, status(405, 'MethodNotAllowed', `${method} ${url.pathname}`));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, status(500, 'InternalError', String(e)));
      else res.destroy();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    requests,
    secrets,
    services,
    jobs,
    pods,
    async kubeconfig(namespace = 'default') {
      const path = join(base, `kubeconfig-${namespace}`);
      await writeFile(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          `- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
          'users:',
          '- name: tester\n  user:\n    token: fake-token',
          'contexts:',
          `- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: ${namespace}`,
          'current-context: fake',
          '',
        ].join('\n'),
      );
      return path;
    },
    running: () => [...runtimes.values()].flatMap((r) => [...r.containers.values()]).filter((c) => c.child && c.child.exitCode === null && c.child.signalCode === null).length,
    async stop() {
      for (const t of timers) clearTimeout(t);
      await Promise.all([...pods.values()].map((p) => stopPod(p, false)));
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await rm(base, { recursive: true, force: true });
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}
