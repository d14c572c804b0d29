/**
 * The train container's command: setup then run as `bash -e` scripts, their output kept on the
 * workspace volume (so the package step can name the log in provenance) as well as in the
 * container's log, a marker line between the two steps, and `setup N` / `run N` as the termination
 * message so the submitter can tell failed_setup from failed. The run file's commands are passed as
 * arguments, never spliced into the script.
 */
import { GPU_QUERY_FIELDS } from '../gpu/nvidia-smi.js';
import { shellQuote } from '../hosts/shell-quote.js';
import { RUN_FILES, RUN_MARKER, type PodLayout } from './layout.js';

const WRAPPER = [
  'R="$1"; T="$2"',
  'mkdir -p "$R"',
  `printf '%s\\n' "$3" > "$R/${RUN_FILES.setup}"`,
  `printf '%s\\n' "$4" > "$R/${RUN_FILES.run}"`,
  `date -u +%Y-%m-%dT%H:%M:%SZ > "$R/${RUN_FILES.startedOn}"`,
  // What the device plugin gave the pod, for provenance; nothing when the image has no nvidia-smi.
  'if command -v nvidia-smi >/dev/null 2>&1; then',
  `  nvidia-smi --query-gpu=${GPU_QUERY_FIELDS.join(',')} --format=csv,noheader,nounits > "$R/${RUN_FILES.gpus}" 2>/dev/null || true`,
  `  nvidia-smi > "$R/${RUN_FILES.banner}" 2>/dev/null || true`,
  'fi',
  // bash as PID 1 ignores SIGTERM unless it traps it: pass it on to the steps so a deleted Job stops at once.
  `trap 'trap "" TERM INT; kill -TERM 0 2>/dev/null' TERM INT`,
  '{',
  '  if [ -n "$3" ]; then',
  `    bash -e "$R/${RUN_FILES.setup}"; code=$?`,
  `    if [ "$code" -ne 0 ]; then echo "setup $code" > "$R/${RUN_FILES.exit}"; exit "$code"; fi`,
  '  fi',
  `  echo ${shellQuote(RUN_MARKER)}`,
  `  bash -e "$R/${RUN_FILES.run}"; code=$?`,
  `  echo "run $code" > "$R/${RUN_FILES.exit}"; exit "$code"`,
  `} 2>&1 | tee -a "$R/${RUN_FILES.log}" &`,
  'wait $!; wait',
  `date -u +%Y-%m-%dT%H:%M:%SZ > "$R/${RUN_FILES.finishedOn}"`,
  `ended="$(cat "$R/${RUN_FILES.exit}" 2>/dev/null || echo "run 143")"`,
  'printf "%s" "$ended" > "$T"',
  'exit "${ended##* }"',
].join('\n');

/** The container command: `bash -c WRAPPER kit-train RUN_DIR TERMINATION_LOG SETUP RUN`. */
export function trainCommand(layout: PodLayout, setup: string[], run: string[]): string[] {
  const script = (commands: string[]) => (commands.length === 0 ? '' : commands.join('\n'));
  return ['bash', '-c', WRAPPER, 'kit-train', layout.run, layout.terminationLog, script(setup), script(run)];
}

/** What a train container's termination message says: which step ended it, with what status. */
export function parseTrainEnd(message: string | undefined): { step: 'setup' | 'run'; exitCode: number } | undefined {
  const m = /^(setup|run) (\d+)\s*$/.exec(message ?? '');
  return m ? { step: m[1] as 'setup' | 'run', exitCode: Number(m[2]) } : undefined;
}
