import { KitError } from '@modelkit/core';
import type { RunState } from '@modelkit/runner';
import { info, printJson } from '../output.js';

export interface RunHooks {
  /** Aborted by Ctrl-C or SIGTERM (`kit runs cancel`): the backend cancels the run. */
  signal: AbortSignal;
  onLog: (chunk: Buffer) => void;
  onStatus: (state: RunState) => void;
}

/**
 * What `kit run` does around any backend: logs to stdout, one line per state change on stderr,
 * signals turned into cancellation, the final state as JSON with --json (also when the run ended by
 * throwing), and a failed run as one error line and exit code.
 */
export async function driveRun(json: boolean | undefined, run: (hooks: RunHooks) => Promise<RunState>, close: () => Promise<void>): Promise<void> {
  const abort = new AbortController();
  const cancel = () => abort.abort();
  process.on('SIGINT', cancel);
  process.on('SIGTERM', cancel);
  let state: RunState | undefined;
  let shown = '';
  try {
    state = await run({
      signal: abort.signal,
      onLog: (chunk) => process.stdout.write(chunk),
      onStatus: (s) => {
        state = s;
        const line = `Run ${s.id}: ${s.status}${s.pendingReason ? ` (${s.pendingReason})` : ''}${s.terminationReason ? ` (${s.terminationReason})` : ''}`;
        if (line !== shown) info((shown = line));
      },
    });
  } catch (e) {
    if (json && state) printJson(state);
    throw e;
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
    await close();
  }
  if (json) printJson(state);
  if (state.status !== 'succeeded') throw new KitError('RUN_FAILED', `run ${state.id} ${state.status} (${state.terminationReason}): see \`kit runs logs ${state.id}\``);
  info(`Output: ${state.output!.digest}${state.output!.references.length ? ` (${state.output!.references.join(', ')})` : ''}`);
}
