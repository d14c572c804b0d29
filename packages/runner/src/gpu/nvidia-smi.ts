import { execFile } from 'node:child_process';
import { KitError } from '@modelkit/core';
import type { GpuInfo } from '../hosts/host.js';

/**
 * CSV query mode is nvidia-smi's scripting interface; the human table changes between drivers.
 * Fields are in the order parseGpuCsv reads them.
 */
export const GPU_QUERY_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'driver_version'] as const;
export const NVIDIA_SMI_GPU_QUERY: string[] = ['nvidia-smi', `--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
export const NVIDIA_SMI_APPS_QUERY: string[] = ['nvidia-smi', '--query-compute-apps=gpu_uuid,pid', '--format=csv,noheader,nounits'];
/**
 * `--query-gpu` has no CUDA version field on most drivers, so the version the driver supports is
 * read from the banner of plain `nvidia-smi` ("CUDA Version: 12.4"). Optional: a failure leaves it unset.
 */
export const NVIDIA_SMI_BANNER: string[] = ['nvidia-smi'];

/** Runs one argv and resolves with its stdout; rejects with an error whose `code` is 'ENOENT' when the binary is absent. */
export type NvidiaSmiExec = (argv: string[]) => Promise<string>;

/** Values nvidia-smi prints for a field it cannot report (MIG, unified memory, permissions). */
const MISSING = /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|GPU requires reset|Requested functionality has been deprecated)\]?$/i;
/** Printed (with exit status 6) by a loaded driver that sees no device. */
const NO_DEVICES = /No devices were found/i;
/** A nvidia-smi that hangs (wedged driver, GPU fallen off the bus) must not hang the runner. */
const EXEC_TIMEOUT_MS = 30_000;

function field(raw: string | undefined): string | undefined {
  const v = raw?.trim();
  return v === undefined || v === '' || MISSING.test(v) ? undefined : v;
}

/** MiB, tolerating a unit left in by a query without `nounits`; undefined when not reported. */
function mib(raw: string | undefined, what: string, where: string): number | undefined {
  const v = field(raw);
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(?:\s*MiB)?$/i.exec(v);
  if (!m) throw new KitError('FORMAT_UNSUPPORTED', `unexpected nvidia-smi output: ${what} ${JSON.stringify(v)} is not a number of MiB at ${where}`);
  return Math.round(Number(m[1]));
}

function lines(text: string): Array<{ n: number; text: string }> {
  return text
    .split(/\r?\n/)
    .map((t, i) => ({ n: i + 1, text: t.trim() }))
    .filter((l) => l.text !== '');
}

/** Compute processes per GPU UUID; a pid nvidia-smi cannot show (containers) still counts. */
function countApps(appsCsv: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines(appsCsv)) {
    if (/^No running (compute )?processes found/i.test(line.text) || /^gpu_uuid\b/i.test(line.text)) continue;
    const cols = line.text.split(',').map((c) => c.trim());
    const uuid = field(cols[0]);
    const pid = field(cols[1]);
    if (cols.length < 2 || uuid === undefined || /\s/.test(uuid) || (pid !== undefined && !/^\d+$/.test(pid))) {
      throw new KitError('FORMAT_UNSUPPORTED', `unexpected nvidia-smi compute-apps output at line ${line.n}: ${JSON.stringify(line.text)} (expected "gpu_uuid, pid")`);
    }
    counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
  }
  return counts;
}

/**
 * GPUs from the --query-gpu CSV a job saved on its node (Slurm, a Kubernetes pod), for provenance:
 * none when the node had no nvidia-smi or its output cannot be read, since the run has already
 * succeeded and only the record of its GPUs is missing.
 */
export function savedGpus(csv: string | undefined, banner?: string): GpuInfo[] {
  if (!csv?.trim()) return [];
  try {
    return parseGpuCsv(csv, '', banner);
  } catch {
    return [];
  }
}

/**
 * Parse the outputs of NVIDIA_SMI_GPU_QUERY and NVIDIA_SMI_APPS_QUERY (and optionally the banner).
 * A memory value nvidia-smi does not report ([N/A] on unified-memory parts such as GB10, or for
 * memory.used on some MIG/vGPU setups) becomes 0: selection then cannot match it on memory and
 * isFree judges it by its processes alone.
 */
export function parseGpuCsv(csv: string, appsCsv: string, banner?: string): GpuInfo[] {
  const apps = countApps(appsCsv);
  const cudaVersion = banner === undefined ? undefined : /CUDA Version:\s*(\d+(?:\.\d+)*)/i.exec(banner)?.[1];
  const gpus: GpuInfo[] = [];
  for (const line of lines(csv)) {
    if (/^index\s*,/i.test(line.text)) continue; // a header, from a query without `noheader`
    const where = `line ${line.n} (${JSON.stringify(line.text)})`;
    const cols = line.text.split(',');
    if (cols.length !== GPU_QUERY_FIELDS.length) {
      throw new KitError('FORMAT_UNSUPPORTED', `unexpected nvidia-smi output at ${where}: expected ${GPU_QUERY_FIELDS.length} comma-separated fields (${GPU_QUERY_FIELDS.join(', ')}), got ${cols.length}`);
    }
    const [index, uuid, name, total, used, driver] = cols.map(field);
    if (index === undefined || !/^\d+$/.test(index)) throw new KitError('FORMAT_UNSUPPORTED', `unexpected nvidia-smi output at ${where}: GPU index ${JSON.stringify(index ?? cols[0].trim())} is not a number`);
    if (uuid === undefined || /\s/.test(uuid)) throw new KitError('FORMAT_UNSUPPORTED', `unexpected nvidia-smi output at ${where}: no usable GPU UUID`);
    const gpu: GpuInfo = {
      index: Number(index),
      uuid,
      name: name ?? 'unknown GPU',
      memoryTotalMiB: mib(total, 'memory.total', where) ?? 0,
      memoryUsedMiB: mib(used, 'memory.used', where) ?? 0,
      processes: apps.get(uuid) ?? 0,
    };
    if (driver !== undefined) gpu.driverVersion = driver;
    if (cudaVersion !== undefined) gpu.cudaVersion = cudaVersion;
    gpus.push(gpu);
  }
  return gpus;
}

function isEnoent(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** execFile with PATH lookup (so a test double can stand in), turning failures into KitErrors. */
const execNvidiaSmi: NvidiaSmiExec = (argv) =>
  new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: EXEC_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      if (isEnoent(error)) return reject(error);
      if (NO_DEVICES.test(stdout) || NO_DEVICES.test(stderr)) return resolve('');
      // The driver's complaint ("couldn't communicate with the NVIDIA driver") goes to stdout on many versions.
      const first = [stderr, stdout].map((s) => s.split(/\r?\n/).find((l) => l.trim() !== '')?.trim()).find(Boolean);
      const why = first ?? (error.killed ? `timed out after ${EXEC_TIMEOUT_MS / 1000}s` : error.message);
      reject(new KitError('IO', `${argv.join(' ')} failed: ${why}`, { cause: error }));
    });
  });

function asKitError(argv: string[], e: unknown): KitError {
  return e instanceof KitError ? e : new KitError('IO', `${argv.join(' ')} failed: ${(e as Error).message}`, { cause: e });
}

/** GPUs on this machine; [] when nvidia-smi is not installed or sees no device. */
export async function listLocalGpus(exec: NvidiaSmiExec = execNvidiaSmi): Promise<GpuInfo[]> {
  const run = (argv: string[]): Promise<string> => exec(argv).catch((e: unknown) => Promise.reject(asKitError(argv, e)));
  let csv: string;
  try {
    csv = await exec(NVIDIA_SMI_GPU_QUERY);
  } catch (e) {
    if (isEnoent(e)) return []; // no NVIDIA driver tools: a CPU-only host
    throw asKitError(NVIDIA_SMI_GPU_QUERY, e);
  }
  if (lines(csv).length === 0) return [];
  const [apps, banner] = await Promise.all([run(NVIDIA_SMI_APPS_QUERY), run(NVIDIA_SMI_BANNER).catch(() => undefined)]);
  return parseGpuCsv(csv, apps, banner);
}
