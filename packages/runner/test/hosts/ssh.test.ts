// SshHost against a REAL OpenSSH sshd on 127.0.0.1 (sshd-harness.ts): no mocks of ssh2 or sshd.
// Because sshd runs on this machine, the tests can also look at the "remote" files and processes
// directly (/proc, the temp work root) to check what happened there.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KitError } from '@modelkit/core';
import type { Workspace } from '../../src/hosts/host.js';
import { parseSshTarget, shellQuote, SshHost, type SshHostOptions } from '../../src/hosts/ssh.js';
import { envFileText, stepFilesTar } from '../../src/hosts/ssh-wrapper.js';
import { startSshd, type Sshd } from '../sshd-harness.js';

let sshd: Sshd;
/** A second sshd whose sessions find test doubles (fake nvidia-smi, fake tar) first on PATH. */
let doubles: Sshd;
let fakeBin: string;
let workRoot: string;
let host: SshHost;

function options(server: Sshd, extra: Partial<SshHostOptions> = {}): SshHostOptions {
  return {
    target: { user: server.user, host: server.host, port: server.port },
    privateKeyPath: server.privateKeyPath,
    knownHostsPath: server.knownHostsPath,
    workRoot,
    cancelGraceMs: 1_000,
    reconnectDelayMs: 100,
    ...extra,
  };
}

async function tarOf(entries: Array<{ name: string; body?: string | Buffer; type?: 'file' | 'directory' | 'symlink'; linkname?: string; pax?: Record<string, string> }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'directory' || e.type === 'symlink') pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else pack.entry({ name: e.name, mode: 0o644, pax: e.pax }, e.body ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Small chunks, so that the stream really is a stream. */
async function* chunked(data: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

function collector(): { chunks: Buffer[]; text(): string; onOutput(c: Buffer): void; waitFor(s: string): Promise<void> } {
  const chunks: Buffer[] = [];
  const text = (): string => Buffer.concat(chunks).toString('utf8');
  const waiters: Array<{ s: string; resolve: () => void }> = [];
  return {
    chunks,
    text,
    onOutput: (c) => {
      chunks.push(c);
      for (const w of waiters.splice(0)) (text().includes(w.s) ? w.resolve : () => waiters.push(w))();
    },
    waitFor: (s) => (text().includes(s) ? Promise.resolve() : new Promise((resolve) => waiters.push({ s, resolve }))),
  };
}

/** Processes (pids) in a process group, read from /proc: sshd is on this machine. */
async function groupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (fields.length > 2 && Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(name));
  }
  return members;
}

async function expectKitError(p: Promise<unknown>, code: string, message: RegExp): Promise<KitError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KitError);
  expect((e as KitError).code).toBe(code);
  expect((e as KitError).message).toMatch(message);
  return e as KitError;
}

interface Proxy {
  port: number;
  connections(): number;
  /** Drop every relayed connection now. */
  cut(): void;
  /** Drop every connection at the first chunk for which `when(its direction, bytes up and down since arming)` holds; that chunk is not relayed. */
  cutWhen(when: (direction: 'up' | 'down', up: number, down: number) => boolean): void;
  refuse(on: boolean): void;
  close(): Promise<void>;
}

/** A TCP relay between the client and sshd that the test can cut, to drop the SSH connection at chosen moments. */
async function startProxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let refusing = false;
  let trigger: ((direction: 'up' | 'down', up: number, down: number) => boolean) | undefined;
  let up = 0;
  let down = 0;
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  const server = net.createServer((client) => {
    connections++;
    if (refusing) return void client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) s.on('error', end).on('close', end);
    const relay = (from: net.Socket, to: net.Socket, direction: 'up' | 'down'): void => {
      from.on('data', (chunk: Buffer) => {
        if (direction === 'up') up += chunk.length;
        else down += chunk.length;
        if (trigger?.(direction, up, down)) {
          trigger = undefined;
          return cut();
        }
        to.write(chunk);
      });
    };
    relay(client, upstream, 'up');
    relay(upstream, client, 'down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections: () => connections,
    cut,
    cutWhen: (when) => {
      up = 0;
      down = 0;
      trigger = when;
    },
    refuse: (on) => (refusing = on),
    close: () =>
      new Promise((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}

/** An SshHost that reaches sshd through a fresh proxy (known_hosts names the proxy's port). */
async function proxiedHost(): Promise<{ host: SshHost; proxy: Proxy; close(): Promise<void> }> {
  const proxy = await startProxy(sshd.port);
  const knownHosts = join(workRoot, `known_hosts.proxy-${proxy.port}`);
  await writeFile(knownHosts, `[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}\n`);
  const host = await SshHost.connect({ ...options(sshd), target: { user: sshd.user, host: '127.0.0.1', port: proxy.port }, knownHostsPath: knownHosts });
  return {
    host,
    proxy,
    close: async () => {
      await host.close();
      await proxy.close();
    },
  };
}

beforeAll(async () => {
  workRoot = await mkdtemp(join(tmpdir(), 'kit-ssh-runs-'));
  fakeBin = await mkdtemp(join(tmpdir(), 'kit-ssh-fakebin-'));
  [sshd, doubles] = await Promise.all([startSshd(), startSshd({ pathPrefix: [fakeBin] })]);
  host = await SshHost.connect(options(sshd));
});

afterAll(async () => {
  await host?.close();
  await Promise.all([sshd?.stop(), doubles?.stop()]);
  await rm(workRoot, { recursive: true, force: true });
  await rm(fakeBin, { recursive: true, force: true });
});

describe('parseSshTarget', () => {
  it('reads user@host[:port], [ipv6]:port and ssh:// forms', () => {
    expect(parseSshTarget('alice@gpu-07')).toEqual({ user: 'alice', host: 'gpu-07', port: 22 });
    expect(parseSshTarget('alice@gpu-07.example.com:2222')).toEqual({ user: 'alice', host: 'gpu-07.example.com', port: 2222 });
    expect(parseSshTarget('bob@[::1]:2200')).toEqual({ user: 'bob', host: '::1', port: 2200 });
    expect(parseSshTarget('[fe80::1%eth0]')).toMatchObject({ host: 'fe80::1%eth0', port: 22 });
    expect(parseSshTarget('fe80::2')).toMatchObject({ host: 'fe80::2', port: 22 });
    expect(parseSshTarget('ssh://root@10.0.0.5:22')).toEqual({ user: 'root', host: '10.0.0.5', port: 22 });
    expect(parseSshTarget('gpu-07').user).toBe(execFileSync('id', ['-un'], { encoding: 'utf8' }).trim());
  });

  it('refuses malformed targets with INVALID_ARGUMENT', () => {
    for (const bad of ['', 'a@', '@host', 'host:0', 'host:65536', 'host:22x', 'we ird@host', '[::1', '[::1]x', 'host;rm -rf /', '-oProxyCommand=x']) {
      expect(() => parseSshTarget(bad), bad).toThrow(KitError);
      try {
        parseSshTarget(bad);
      } catch (e) {
        expect((e as KitError).code).toBe('INVALID_ARGUMENT');
      }
    }
  });
});

describe('shellQuote', () => {
  it('round-trips every byte sequence through a real shell', () => {
    for (const word of ["it's", 'a b', '$HOME', '`id`', '"q"', 'new\nline', '', '-n', '\\', "''", '*']) {
      expect(execFileSync('bash', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' })).toBe(word);
    }
    expect(() => shellQuote('a\0b')).toThrow(KitError);
  });
});

describe('SshHost: connecting', () => {
  it('connects with the key and known_hosts entry, and names the host', async () => {
    expect(host.description).toBe(`ssh://${sshd.user}@127.0.0.1:${sshd.port}`);
    expect(await host.hostname()).toBe(hostname());
  });

  it('refuses a host whose key is not in known_hosts, saying how to fix it', async () => {
    const empty = join(workRoot, 'known_hosts.empty');
    await writeFile(empty, '');
    await expectKitError(SshHost.connect(options(sshd, { knownHostsPath: empty })), 'UNAUTHORIZED', /host key of \[127\.0\.0\.1\]:\d+ is not known.*ssh -p \d+ .*--ssh-known-hosts/);
  });

  it('refuses a host whose key changed', async () => {
    const other = join(workRoot, 'known_hosts.other');
    await writeFile(other, `[127.0.0.1]:${sshd.port} ${doubles.hostPublicKey}\n`);
    await expectKitError(SshHost.connect(options(sshd, { knownHostsPath: other })), 'UNAUTHORIZED', /has CHANGED.*man-in-the-middle.*ssh-keygen -R/);
  });

  it('accepts hashed known_hosts entries (HashKnownHosts yes)', async () => {
    const hashed = join(workRoot, 'known_hosts.hashed');
    await writeFile(hashed, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'ignore' });
    expect(await readFile(hashed, 'utf8')).toMatch(/^\|1\|/);
    const h = await SshHost.connect(options(sshd, { knownHostsPath: hashed }));
    await h.close();
  });

  it('refuses a key the server does not authorize', async () => {
    const stranger = join(workRoot, 'stranger_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    await expectKitError(SshHost.connect(options(sshd, { privateKeyPath: stranger })), 'UNAUTHORIZED', /refused our SSH key/);
  });

  it('defaults the work root to ~/.kit-runs', async () => {
    const home = execFileSync('bash', ['-c', 'printf %s "$HOME"'], { encoding: 'utf8' });
    const hadRoot = existsSync(`${home}/.kit-runs`);
    const h = await SshHost.connect(options(sshd, { workRoot: undefined }));
    try {
      const ws = await h.createWorkspace('kit-ssh-test-default-root');
      expect(ws.root).toBe(`${home}/.kit-runs/kit-ssh-test-default-root`);
      await h.cleanup(ws);
      expect(existsSync(ws.root)).toBe(false);
    } finally {
      await h.close();
      if (!hadRoot) await rm(`${home}/.kit-runs`, { recursive: false, force: true }).catch(() => undefined);
    }
  });
});

describe('SshHost: workspaces and steps', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await host.createWorkspace('run-steps');
  });

  it('lays out the workspace with absolute remote paths', async () => {
    expect(ws).toEqual({ root: `${workRoot}/run-steps`, inputs: `${workRoot}/run-steps/inputs`, outputs: `${workRoot}/run-steps/outputs` });
    expect((await stat(ws.inputs)).isDirectory()).toBe(true);
    expect((await stat(ws.outputs)).isDirectory()).toBe(true);
  });

  it('streams a tar into the workspace, then runs a step with env and inputs, streaming its output', async () => {
    const weights = randomBytes(200_000);
    const archive = await tarOf([
      { name: 'data', type: 'directory' },
      { name: 'data/hello.txt', body: 'hello from the kit\n' },
      { name: 'model/weights.bin', body: weights },
    ]);
    await host.extractTar(chunked(archive), ws.inputs);
    expect(await readFile(join(ws.inputs, 'model/weights.bin'))).toEqual(weights);

    const secret = `s3cr3t 'quoted' "double" $HOME \`id\`\nsecond line`;
    const out = collector();
    const script = ['echo "cwd=$(pwd)"', 'cat data/hello.txt', 'printf "secret=%s|\\n" "$SECRET_TOKEN"', 'echo "run=$KIT_RUN_ID"', 'sleep 0.6', 'echo late'].join('\n');
    const started = Date.now();
    const step = await host.runStep(ws, 'run', script, { SECRET_TOKEN: secret, KIT_RUN_ID: 'run-steps' }, out.onOutput);
    await out.waitFor('run=run-steps');
    const firstOutputAfter = Date.now() - started;
    // No command line on the host carries the secret (ps shows those to every user).
    for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      expect(cmdline.includes('s3cr3t'), `process ${pid}: ${cmdline}`).toBe(false);
    }
    expect(await step.done).toEqual({ exitCode: 0 });
    expect(Date.now() - started - firstOutputAfter).toBeGreaterThan(400); // output came while the step ran
    expect(out.text()).toBe(`cwd=${ws.inputs}\nhello from the kit\nsecret=${secret}|\nrun=run-steps\nlate\n`);
    // The env file holding the secret was deleted once read; the step files are private to the user.
    expect(existsSync(join(ws.root, 'run.env'))).toBe(false);
    expect((await stat(join(ws.root, 'run.sh'))).mode & 0o777).toBe(0o600);
  });

  it('propagates the exit code, and runs the script with bash -e', async () => {
    const out = collector();
    expect(await (await host.runStep(ws, 'run', 'echo before\nexit 3\n', {}, out.onOutput)).done).toEqual({ exitCode: 3 });
    expect(out.text()).toBe('before\n');
    const out2 = collector();
    expect(await (await host.runStep(ws, 'setup', 'echo a\nfalse\necho never\n', {}, out2.onOutput)).done).toEqual({ exitCode: 1 });
    expect(out2.text()).toBe('a\n');
  });

  it('refuses an invalid env name without revealing the value', async () => {
    const e = await expectKitError(host.runStep(ws, 'run', 'true', { 'BAD-NAME': 'hunter2-secret' }, () => {}), 'INVALID_ARGUMENT', /BAD-NAME/);
    expect(e.message).not.toContain('hunter2');
  });

  it('cancel kills the whole process group: SIGTERM first', async () => {
    const out = collector();
    const step = await host.runStep(ws, 'run', 'sleep 3011 &\n( sleep 3012 ) &\necho started\nsleep 3013\n', {}, out.onOutput);
    await out.waitFor('started');
    const pgid = Number(await readFile(join(ws.root, 'run.pgid'), 'utf8'));
    expect((await groupMembers(pgid)).length).toBeGreaterThanOrEqual(3);
    await step.cancel();
    expect(await step.done).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(await groupMembers(pgid)).toEqual([]);
    expect(execFileSync('bash', ['-c', 'pgrep -f "sleep 301[123]" || true'], { encoding: 'utf8' })).toBe('');
  });

  it('cancel ends with SIGKILL what ignores SIGTERM, after the grace period', async () => {
    const out = collector();
    const step = await host.runStep(ws, 'run', "trap '' TERM\necho started\nsleep 3021\n", {}, out.onOutput);
    await out.waitFor('started');
    const pgid = Number(await readFile(join(ws.root, 'run.pgid'), 'utf8'));
    const t0 = Date.now();
    await step.cancel();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // the 1 s grace
    expect(await step.done).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(await groupMembers(pgid)).toEqual([]);
  });

  it('a step outlives a dropped connection: reattached output is complete and unrepeated', async () => {
    const { host: h, proxy, close } = await proxiedHost();
    try {
      const out = collector();
      const step = await h.runStep(ws, 'run', 'for i in $(seq 1 60); do echo "line $i"; sleep 0.03; done\nexit 7\n', {}, out.onOutput);
      await out.waitFor('line 8\n');
      // Drop every connection and refuse new ones for a moment, so that reconnecting needs retries.
      proxy.refuse(true);
      proxy.cut();
      await new Promise((r) => setTimeout(r, 400));
      proxy.refuse(false);
      expect(await step.done).toEqual({ exitCode: 7 });
      const expected = Array.from({ length: 60 }, (_, i) => `line ${i + 1}\n`).join('');
      expect(out.text()).toBe(expected);
      expect(proxy.connections()).toBeGreaterThanOrEqual(3); // first, refused, reconnected
      // A runner that comes back later can attach from any byte offset.
      const again = collector();
      const attached = await h.attachStep(ws, 'run', Buffer.byteLength('line 1\nline 2\n'), again.onOutput);
      expect(await attached.done).toEqual({ exitCode: 7 });
      expect(again.text()).toBe(expected.slice('line 1\nline 2\n'.length));
    } finally {
      await close();
    }
  });

  // A drop while the step is being launched: either the launch never started it (so it is
  // launched again) or it did (so it is adopted). Either way the step runs exactly once. The cut
  // points are placed by byte counts: the step files (a tar) follow the ~2 KB exec request.
  const script = 'echo ran >> "$COUNTER"\necho hello\n';
  const filesBytes = stepFilesTar('run', script, envFileText({ COUNTER: '/x' })).length;
  for (const [when, cutWhen] of [
    ['while the step files are uploaded (launched again)', (direction: 'up' | 'down', up: number) => direction === 'up' && up > 3000],
    ['after the upload, before the launch reports back (adopted)', (direction: 'up' | 'down', up: number) => direction === 'down' && up > filesBytes],
  ] as const) {
    it(`a connection dropped ${when} still runs the step exactly once`, async () => {
      const { host: h, proxy, close } = await proxiedHost();
      const counter = join(ws.root, `launch-count-${proxy.port}`);
      try {
        const out = collector();
        proxy.cutWhen(cutWhen);
        const step = await h.runStep(ws, 'run', script, { COUNTER: counter }, out.onOutput);
        expect(await step.done).toEqual({ exitCode: 0 });
        expect(out.text()).toBe('hello\n');
        expect(await readFile(counter, 'utf8')).toBe('ran\n');
        expect(proxy.connections()).toBeGreaterThanOrEqual(2);
      } finally {
        await close();
      }
    });
  }

  it('fetchOutputs brings the output files back intact', async () => {
    const out = collector();
    const script = ['mkdir -p "$OUT/sub/deeper"', 'head -c 1500000 /dev/urandom > "$OUT/sub/blob.bin"', 'echo metrics > "$OUT/metrics.json"', 'chmod 755 "$OUT/sub"', 'sha256sum "$OUT/sub/blob.bin" | cut -d" " -f1'].join('\n');
    expect(await (await host.runStep(ws, 'run', script, { OUT: ws.outputs }, out.onOutput)).done).toEqual({ exitCode: 0 });
    const local = await mkdtemp(join(tmpdir(), 'kit-ssh-fetch-'));
    try {
      expect(await host.fetchOutputs(ws, local)).toBe(local);
      const blob = await readFile(join(local, 'sub/blob.bin'));
      expect(createHash('sha256').update(blob).digest('hex')).toBe(out.text().trim());
      expect(await readFile(join(local, 'metrics.json'), 'utf8')).toBe('metrics\n');
      expect((await stat(join(local, 'sub/deeper'))).isDirectory()).toBe(true);
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  });

  it('fetchOutputs refuses a symbolic link in the outputs', async () => {
    const ws2 = await host.createWorkspace('run-link');
    expect(await (await host.runStep(ws2, 'run', `ln -s /etc/passwd ${shellQuote(ws2.outputs)}/passwd`, {}, () => {})).done).toEqual({ exitCode: 0 });
    const local = await mkdtemp(join(tmpdir(), 'kit-ssh-fetch-'));
    try {
      await expectKitError(host.fetchOutputs(ws2, local), 'UNSAFE_ARCHIVE', /passwd.*symbolic link/);
    } finally {
      await rm(local, { recursive: true, force: true });
      await host.cleanup(ws2);
    }
  });

  it('extractTar refuses ../ names and links before tar sees them', async () => {
    const target = await host.createWorkspace('run-evil-input');
    try {
      const dotdot = await tarOf([{ name: 'ok.txt', body: 'ok' }, { name: '../escaped.txt', body: 'evil' }]);
      await expectKitError(host.extractTar(chunked(dotdot), target.inputs), 'UNSAFE_ARCHIVE', /\.\.\/escaped\.txt.*'\.\.'/);
      expect(existsSync(join(target.root, 'escaped.txt'))).toBe(false);
      const link = await tarOf([{ name: 'etc', type: 'symlink', linkname: '/etc' }, { name: 'etc/evil', body: 'x' }]);
      await expectKitError(host.extractTar(chunked(link), target.inputs), 'UNSAFE_ARCHIVE', /"etc" is a symbolic link/);
      // A PAX path overrides the innocent-looking header name for tar; every name is checked.
      const pax = await tarOf([{ name: 'innocent.txt', body: 'x', pax: { path: '../pax-escaped.txt' } }]);
      await expectKitError(host.extractTar(chunked(pax), target.inputs), 'UNSAFE_ARCHIVE', /pax-escaped/);
      expect(existsSync(join(target.root, 'pax-escaped.txt'))).toBe(false);
      const absolute = await tarOf([{ name: '/tmp/kit-abs-evil', body: 'x' }]);
      await expectKitError(host.extractTar(chunked(absolute), target.inputs), 'UNSAFE_ARCHIVE', /absolute path/);
      await expectKitError(host.extractTar(chunked(Buffer.from('not a tar archive at all'.repeat(40))), target.inputs), 'ARCHIVE_INVALID', /checksum/);
      await expectKitError(host.extractTar(chunked(dotdot), '/etc'), 'INVALID_ARGUMENT', /not inside/);
      // Safe names that tar still cannot unpack: its own message comes back.
      const clash = await tarOf([{ name: 'a', body: 'file' }, { name: 'a/b', body: 'under a file' }]);
      await expectKitError(host.extractTar(chunked(clash), target.inputs), 'IO', /extracting into .*failed \(exit 2\): tar: a\/b: Cannot open: Not a directory/);
    } finally {
      await host.cleanup(target);
    }
  });

  it('cleanup removes the workspace and refuses paths it did not lay out', async () => {
    const ws3 = await host.createWorkspace('run-cleanup');
    await host.cleanup(ws3);
    expect(existsSync(ws3.root)).toBe(false);
    await expectKitError(host.fetchOutputs(ws3, join(workRoot, 'fetch-after-cleanup')), 'IO', /packing .*failed \(exit 2\): tar: .*No such file or directory/);
    await expectKitError(host.cleanup({ root: '/', inputs: '/inputs', outputs: '/outputs' }), 'INVALID_ARGUMENT', /not a workspace/);
    await expectKitError(host.cleanup({ root: `${workRoot}/..`, inputs: `${workRoot}/../inputs`, outputs: `${workRoot}/../outputs` }), 'INVALID_ARGUMENT', /not a workspace/);
    await expectKitError(host.createWorkspace('../x'), 'INVALID_ARGUMENT', /not a run id/);
  });
});

describe('SshHost: GPUs', () => {
  it('lists no GPUs where nvidia-smi is not installed', async () => {
    const local = execFileSync('bash', ['-c', 'command -v nvidia-smi || true'], { encoding: 'utf8' }).trim();
    const gpus = await host.listGpus();
    // This sshd runs on the test machine: with a real nvidia-smi there, the real GPUs must show.
    if (local === '') expect(gpus).toEqual([]);
    else expect(gpus.length).toBeGreaterThan(0);
  });

  it('parses what nvidia-smi prints (a TEST DOUBLE placed first on the remote PATH)', async () => {
    // Test double, not a real nvidia-smi: prints fixed CSV for the two queries and a banner.
    await writeFile(
      join(fakeBin, 'nvidia-smi'),
      `#!/bin/sh
case "$1" in
  --query-gpu=*) printf '%s\\n' '0, GPU-aaaa1111-0000-0000-0000-000000000000, NVIDIA A100-SXM4-80GB, 81920, 1024, 550.54.15' '1, GPU-bbbb2222-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, 81559, [N/A], 550.54.15' ;;
  --query-compute-apps=*) printf '%s\\n' 'GPU-aaaa1111-0000-0000-0000-000000000000, 4242' ;;
  *) echo '| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4 |' ;;
esac
`,
    );
    await chmod(join(fakeBin, 'nvidia-smi'), 0o755);
    const h = await SshHost.connect(options(doubles));
    try {
      expect(await h.listGpus()).toEqual([
        { index: 0, uuid: 'GPU-aaaa1111-0000-0000-0000-000000000000', name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920, memoryUsedMiB: 1024, processes: 1, driverVersion: '550.54.15', cudaVersion: '12.4' },
        { index: 1, uuid: 'GPU-bbbb2222-0000-0000-0000-000000000000', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 0, processes: 0, driverVersion: '550.54.15', cudaVersion: '12.4' },
      ]);
    } finally {
      await h.close();
      await rm(join(fakeBin, 'nvidia-smi'));
    }
  });

  it('reserves GPUs all-or-nothing, naming the GPU and the run that holds it', async () => {
    const [g0, g1, g2] = ['GPU-r0', 'GPU-r1', 'MIG-GPU-r2/1/0'];
    const releaseA = await host.reserveGpus([g0, g1], 'run-a');
    await expectKitError(host.reserveGpus([g2, g1], 'run-b'), 'INVALID_ARGUMENT', /GPU GPU-r1 on ssh:\/\/.* is reserved by run run-a/);
    // run-b's partial lock on g2 was undone.
    const releaseC = await host.reserveGpus([g2], 'run-c');
    await releaseC();
    await releaseA();
    await releaseA(); // idempotent
    const releaseB = await host.reserveGpus([g2, g1], 'run-b');
    await releaseB();
    expect(await readdir(join(workRoot, 'gpu-locks'))).toEqual(['.lock']);
  });

  it('records the step wrapper in the lock, and breaks a lock whose wrapper is long gone', async () => {
    const ws = await host.createWorkspace('run-gpu');
    const release = await host.reserveGpus(['GPU-w0'], 'run-gpu');
    const owner = join(workRoot, 'gpu-locks', 'GPU-w0', 'owner');
    const out = collector();
    const step = await host.runStep(ws, 'run', 'echo started\nsleep 3031\n', {}, out.onOutput);
    await out.waitFor('started');
    const wrapperPid = (await readFile(join(ws.root, 'run.pid'), 'utf8')).trim();
    expect(await readFile(owner, 'utf8')).toBe(`run-gpu\n${wrapperPid}\n`);
    // While the wrapper lives the lock holds, however old.
    await utimes(owner, new Date(Date.now() - 600_000), new Date(Date.now() - 600_000));
    await expectKitError(host.reserveGpus(['GPU-w0'], 'run-other'), 'INVALID_ARGUMENT', new RegExp(`reserved by run run-gpu, step wrapper pid ${wrapperPid}`));
    await step.cancel();
    await step.done;
    // Just ended: the next step of the same run may still come, so it holds for a minute.
    await expectKitError(host.reserveGpus(['GPU-w0'], 'run-other'), 'INVALID_ARGUMENT', /reserved by run run-gpu/);
    await utimes(owner, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    const releaseOther = await host.reserveGpus(['GPU-w0'], 'run-other');
    await release(); // run-gpu's release must not remove run-other's lock
    expect(await readFile(owner, 'utf8')).toBe('run-other\n');
    await releaseOther();
    await host.cleanup(ws);
  });
});

describe('SshHost: unsafe output archives', () => {
  it('refuses an output tar with ../evil (remote tar replaced by a TEST DOUBLE)', async () => {
    // Test double of tar on the doubles sshd: `tar -c` prints a crafted archive, anything else is real tar.
    const realTar = execFileSync('bash', ['-c', 'command -v tar'], { encoding: 'utf8' }).trim();
    await writeFile(join(fakeBin, 'evil.tar'), await tarOf([{ name: 'ok.txt', body: 'fine' }, { name: '../evil', body: 'pwned' }]));
    await writeFile(join(fakeBin, 'tar'), `#!/bin/sh\nif [ "$1" = -c ]; then exec cat ${shellQuote(join(fakeBin, 'evil.tar'))}; fi\nexec ${shellQuote(realTar)} "$@"\n`);
    await chmod(join(fakeBin, 'tar'), 0o755);
    const h = await SshHost.connect(options(doubles));
    const parent = await mkdtemp(join(tmpdir(), 'kit-ssh-evil-'));
    try {
      const ws = await h.createWorkspace('run-evil-output');
      const local = join(parent, 'outputs');
      await mkdir(local);
      await expectKitError(h.fetchOutputs(ws, local), 'UNSAFE_ARCHIVE', /"\.\.\/evil" contains '\.\.'/);
      expect(existsSync(join(parent, 'evil'))).toBe(false);
      await h.cleanup(ws);
    } finally {
      await h.close();
      await rm(join(fakeBin, 'tar'));
      await rm(parent, { recursive: true, force: true });
    }
  });
});
