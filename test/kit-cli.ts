// Runs the built `kit` as users do: a child process with its own KITOPS_HOME and Docker config.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const KIT = join(ROOT, 'packages/cli/dist/main.js');
export const EXAMPLE = join(ROOT, 'examples/sentiment');

export interface KitRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function kitIn(home: string, args: string[], input?: string): Promise<KitRun> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [KIT, ...args], { env: { ...process.env, KITOPS_HOME: home, DOCKER_CONFIG: join(home, 'docker') } }, (error, stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Run and require success, failing with kit's own error line. */
export async function kitOk(home: string, args: string[], input?: string): Promise<KitRun> {
  const r = await kitIn(home, args, input);
  if (r.code !== 0) throw new Error(`kit ${args.join(' ')} failed (${r.code}): ${r.stderr.split('\n').filter((l) => l.startsWith('Error')).join(' ')}`);
  return r;
}
