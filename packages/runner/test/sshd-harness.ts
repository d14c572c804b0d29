// Test harness: a REAL OpenSSH sshd on 127.0.0.1 for the SSH host tests (runner.md §6).
//
// Keys (host and client) and sshd_config live in a temp dir; sshd runs in the foreground
// (`-D -e`) as our child so that stop() kills exactly that PID. Never skipped: a missing sshd is an
// error that says to run .ci/install-servers.sh.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/free-port.js';

const SSHD = '/usr/sbin/sshd';
const SETPRIV = '/usr/bin/setpriv';
const INSTALL_HINT = 'run .ci/install-servers.sh (installs openssh-server)';

export interface SshdOptions {
  /**
   * Directories put first on PATH for every session (sshd_config `SetEnv`), e.g. one holding test
   * doubles of nvidia-smi. The rest of PATH is the usual system one.
   */
  pathPrefix?: string[];
  /** More variables every session gets (sshd_config `SetEnv`), e.g. SLURM_CONF for a test cluster. */
  env?: Record<string, string>;
}

export interface Sshd {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** A known_hosts file holding `[127.0.0.1]:<port>` with the host key. */
  knownHostsPath: string;
  /** The host public key line (`ssh-ed25519 AAAA…`), for known_hosts entries of other names/ports. */
  hostPublicKey: string;
  /** Everything sshd logged so far (it runs with -e), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export { freePort } from '../../../test/free-port.js';


function findSetpriv(): boolean {
  try {
    accessSync(SETPRIV, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} is not installed: ${INSTALL_HINT}` : `${file} ${args.join(' ')} failed: ${stderr || err.message}`;
      reject(new Error(why));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// sshd children still running when the test process exits are killed (by PID, ours only).
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  try {
    accessSync(SSHD, fsConstants.X_OK);
  } catch {
    throw new Error(`${SSHD} is missing: ${INSTALL_HINT}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'kit-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kit-test-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kit-test-client', '-f', clientKey]);
  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, await readFile(`${clientKey}.pub`));
  await chmod(authorizedKeys, 0o600);
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');

  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    // Keys sit in a temp dir that sshd's ownership checks would refuse.
    'StrictModes no',
    'Subsystem sftp internal-sftp',
  ];
  const setEnv = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
  if (options.pathPrefix?.length) {
    setEnv.push(`PATH=${[...options.pathPrefix, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':')}`);
  }
  if (setEnv.length > 0) config.push(`SetEnv ${setEnv.join(' ')}`);
  const configPath = join(dir, 'sshd_config');
  await writeFile(configPath, config.join('\n') + '\n');
  const knownHostsPath = join(dir, 'known_hosts');
  await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
  // Privilege-separation directory; sshd exits 255 without it.
  await mkdir('/run/sshd', { recursive: true }).catch(() => undefined);
  await run(SSHD, ['-t', '-f', configPath]);

  let logText = '';
  // setpriv --pdeathsig: should the test worker be killed before stop(), sshd goes with it instead
  // of listening on forever. setpriv execs sshd, so the PID is still sshd's own.
  const [file, args] = findSetpriv() ? [SETPRIV, ['--pdeathsig', 'KILL', SSHD, '-D', '-e', '-f', configPath]] : [SSHD, ['-D', '-e', '-f', configPath]];
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.stdout!.on('data', (c: Buffer) => (logText += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (logText += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => live.delete(child));

  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) before listening:\n${logText}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s:\n${logText}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    privateKeyPath: clientKey,
    knownHostsPath,
    hostPublicKey,
    log: () => logText,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
