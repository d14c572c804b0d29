import { KitError } from '@modelkit/core';
import ssh2 from 'ssh2';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { hostKeyError, loadAuth, loadKnownHosts } from './ssh-auth.js';
import { checkHostKey, hostKeyAlgorithms, type KnownHostKey } from './ssh-known-hosts.js';
import { describeTarget, type SshTarget } from './ssh-target.js';

export interface SshConnectOptions {
  target: SshTarget;
  /** Default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa (the first that exists), plus the SSH_AUTH_SOCK agent. */
  privateKeyPath?: string;
  /** Default: ~/.ssh/known_hosts (and /etc/ssh/ssh_known_hosts). */
  knownHostsPath?: string;
  readyTimeoutMs?: number;
}

/** The connection went away under a command; the command's own fate on the host is unknown. */
export class SshConnectionLost extends KitError {
  constructor(description: string, what: string, cause?: unknown) {
    super('NETWORK', `${description}: connection lost during ${what}`, { cause });
  }
}

export interface RemoteProcess {
  /** stdin and stdout; read stdout (or use `stdout()`) or the channel stalls. */
  channel: ClientChannel;
  /**
   * stdout as chunks, with backpressure. Leaving the loop early closes the channel and discards the
   * rest, so that `exit` still settles.
   */
  stdout(): AsyncGenerator<Buffer>;
  /** Settles when the channel closes: the exit status, or SshConnectionLost. */
  exit: Promise<{ code: number | null; signal?: string }>;
  /** What the command wrote to stderr (the first 64 KiB). */
  stderr(): string;
}

export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: string;
}

const STDERR_LIMIT = 64 * 1024;

/**
 * One SSH connection that reopens on demand: after a drop, the next command connects again.
 * Commands themselves are never retried here (most are not idempotent); callers that can resume,
 * like the log tail, retry on SshConnectionLost.
 */
export class SshSession {
  readonly description: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private closed = false;

  private constructor(
    private readonly options: SshConnectOptions,
    private readonly auth: Pick<ConnectConfig, 'privateKey' | 'agent'>,
    private readonly known: { keys: KnownHostKey[]; files: string[] },
  ) {
    this.description = describeTarget(options.target);
  }

  static async open(options: SshConnectOptions): Promise<SshSession> {
    const session = new SshSession(options, await loadAuth(options.privateKeyPath), await loadKnownHosts(options));
    await session.connection();
    return session;
  }

  /** The live client, connecting first when there is none (never connected, dropped). */
  connection(): Promise<Client> {
    if (this.closed) return Promise.reject(new KitError('INVALID_ARGUMENT', `${this.description}: the SSH host was closed`));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private connect(): Promise<Client> {
    const { target } = this.options;
    const algorithms = hostKeyAlgorithms(this.known.keys);
    let refused: KitError | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      ...this.auth,
      readyTimeout: this.options.readyTimeoutMs ?? 20_000,
      // A dead peer without a FIN (cable, NAT timeout) is noticed within ~15 s instead of never.
      keepaliveInterval: 5_000,
      keepaliveCountMax: 3,
      ...(algorithms.length > 0 ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
      hostVerifier: (key: Buffer) => {
        const verdict = checkHostKey(this.known.keys, key);
        if (verdict !== 'trusted') refused = hostKeyError(verdict, key, target, this.known.files);
        return verdict === 'trusted';
      },
    };
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let ready = false;
      client.once('ready', () => {
        ready = true;
        this.client = client;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (ready) return; // surfaces as 'close' and lost channels
        reject(refused ?? this.connectError(err));
      });
      client.once('close', () => {
        if (this.client === client) this.client = undefined;
        if (!ready) reject(refused ?? new KitError('NETWORK', `${this.description}: connection closed during the SSH handshake`));
      });
      try {
        client.connect(config);
      } catch (e) {
        reject(new KitError('NETWORK', `${this.description}: ${(e as Error).message}`, { cause: e }));
      }
    });
  }

  private connectError(err: Error & { level?: string; code?: string }): KitError {
    if (err.level === 'client-authentication') {
      return new KitError('UNAUTHORIZED', `${this.description}: the server refused our SSH key(s) for user ${this.options.target.user} (check authorized_keys, or pass the right key)`, { cause: err });
    }
    if (err.level === 'client-timeout') return new KitError('NETWORK', `${this.description}: timed out waiting for the SSH handshake`, { cause: err });
    return new KitError('NETWORK', `${this.description}: cannot connect (${err.code ?? err.message})`, { cause: err });
  }

  /**
   * Start a command. `what` names it in errors; the command text itself never appears there, so
   * nothing it carries can leak (secrets travel on stdin only).
   */
  async start(command: string, what: string): Promise<RemoteProcess> {
    const client = await this.connection();
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      try {
        client.exec(command, (err, ch) => (err ? reject(this.lostOr(client, what, err)) : resolve(ch)));
      } catch (e) {
        reject(this.lostOr(client, what, e));
      }
    });
    // ssh2 may emit 'error' on a channel (a write racing its close); the exit status tells the story.
    channel.on('error', () => undefined);
    let stderr = '';
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8');
    });
    const exit = new Promise<{ code: number | null; signal?: string }>((resolve, reject) => {
      let status: { code: number | null; signal?: string } | undefined;
      channel.once('exit', (code: number | null, signal?: string) => {
        status = signal ? { code: null, signal: `SIG${signal}` } : { code };
      });
      channel.once('close', () => {
        if (status) return resolve(status);
        // No exit status: the connection died, or the server closed the channel without one.
        if (this.client !== client) return reject(new SshConnectionLost(this.description, what));
        resolve({ code: null });
      });
    });
    exit.catch(() => undefined); // callers that only read stdout still see the loss there
    return { channel, exit, stdout: () => channelChunks(channel), stderr: () => stderr.slice(0, STDERR_LIMIT) };
  }

  private lostOr(client: Client, what: string, err: unknown): KitError {
    if (this.client !== client || /not connected|no response/i.test((err as Error).message)) {
      if (this.client === client) this.drop();
      return new SshConnectionLost(this.description, what, err);
    }
    return new KitError('NETWORK', `${this.description}: cannot start ${what}: ${(err as Error).message}`, { cause: err });
  }

  /**
   * Run a command to completion, feeding `stdin` (bytes or a stream, with backpressure) and
   * collecting stdout (or passing it to `onStdout` instead).
   */
  async exec(command: string, what: string, io: { stdin?: Buffer | string | AsyncIterable<Buffer>; onStdout?: (chunk: Buffer) => void } = {}): Promise<ExecResult> {
    const proc = await this.start(command, what);
    const out: Buffer[] = [];
    proc.channel.on('data', (chunk: Buffer) => (io.onStdout ? io.onStdout(chunk) : out.push(chunk)));
    let stdinError: unknown;
    if (io.stdin === undefined) proc.channel.end();
    else await writeAll(proc.channel, io.stdin).catch((e: unknown) => (stdinError = e));
    const status = await proc.exit;
    if (stdinError !== undefined && !(stdinError instanceof ChannelClosed)) throw stdinError;
    return { ...status, stdout: Buffer.concat(out), stderr: proc.stderr() };
  }

  /** Like exec, but a non-zero exit is a KitError quoting stderr. */
  async check(command: string, what: string, io: Parameters<SshSession['exec']>[2] = {}): Promise<ExecResult> {
    const result = await this.exec(command, what, io);
    if (result.code !== 0) throw this.failed(what, result);
    return result;
  }

  failed(what: string, result: { code: number | null; signal?: string; stderr: string }): KitError {
    const status = result.signal ? `killed by ${result.signal}` : `exit ${result.code ?? '?'}`;
    const detail = result.stderr.trim();
    return new KitError('IO', `${this.description}: ${what} failed (${status})${detail ? `: ${detail}` : ''}`);
  }

  /** Forget the current connection (it is broken); the next command reconnects. */
  drop(): void {
    const client = this.client;
    this.client = undefined;
    client?.end();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.end();
      setTimeout(resolve, 2_000).unref();
    });
  }
}

class ChannelClosed extends Error {}

/** Write to a channel honouring backpressure; ends it when done, or on failure of the source. */
async function writeAll(channel: ClientChannel, data: Buffer | string | AsyncIterable<Buffer>): Promise<void> {
  let closed = false;
  const onClose = (): void => {
    closed = true;
  };
  channel.once('close', onClose);
  try {
    const chunks: AsyncIterable<Buffer> | Buffer[] = typeof data === 'string' ? [Buffer.from(data)] : Buffer.isBuffer(data) ? [data] : data;
    for await (const chunk of chunks) {
      if (closed) throw new ChannelClosed('the remote command closed its input');
      if (!channel.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            channel.off('drain', done);
            channel.off('close', done);
            resolve();
          };
          channel.on('drain', done);
          channel.on('close', done);
        });
      }
    }
  } finally {
    channel.off('close', onClose);
    if (!closed) channel.end();
  }
}

/**
 * ssh2 emits a channel's 'close' only after its stdout has ended, so a reader that stops early must
 * keep draining; Node's own stream iterator would leave a 'readable' listener that stops resume().
 */
async function* channelChunks(channel: ClientChannel): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length >= 16) channel.pause();
    wake?.();
  };
  const onEnd = (): void => {
    ended = true;
    wake?.();
  };
  channel.on('data', onData);
  channel.once('end', onEnd);
  channel.once('close', onEnd);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        if (queue.length < 4) channel.resume();
        yield chunk;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  } finally {
    channel.off('data', onData);
    channel.off('end', onEnd);
    channel.off('close', onEnd);
    if (!ended) {
      channel.close();
      channel.on('data', () => {});
      channel.resume();
    }
  }
}
