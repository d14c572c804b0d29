import { encodeTarHeader, KitError, padding, TAR_TRAILER } from '@modelkit/core';
import { bashCommand as bash, shellCommand, shellQuote } from './shell-quote.js';

/**
 * The remote side of a step. Each script here is constant text run as `bash -c SCRIPT name ARGS…`,
 * so paths and values only ever travel as quoted arguments (or on stdin), never spliced into code.
 *
 * Files of step STEP in the workspace root: STEP.sh (the script) and STEP.env (exports, deleted
 * once read), both 0600; STEP.pid (the wrapper), STEP.pgid (the step's process group), STEP.log
 * (stdout+stderr) and, once the group is gone, STEP.exit (exit code, or 128+signal). Steps do not
 * depend on the SSH session: ssh2 channel signals and closes were seen to leave remote processes
 * running (runner.md §6).
 */

export const WRAPPER_NAME = '.kit-step-wrapper.sh';

/**
 * Liveness that ignores zombies: an orphan is reaped by init, which in some containers takes
 * seconds, and a zombie runs no code, so counting it would stretch every cancel to the full grace
 * period and every step end by the reaping delay. Read from /proc (Linux); elsewhere `kill -0`.
 *   pid_alive PID      the process exists and is not a zombie
 *   group_alive PGID   the process group has such a member
 */
export const LIVENESS = `pid_alive() {
  local s
  if read -r s 2>/dev/null < "/proc/$1/stat"; then set -- \${s##*) }; [ "$1" != Z ]; else kill -0 "$1" 2>/dev/null; fi
}
group_alive() {
  kill -0 -- "-$1" 2>/dev/null || return 1
  [ -r /proc/self/stat ] || return 0
  local f line
  for f in /proc/[0-9]*/stat; do
    read -r line 2>/dev/null < "$f" || continue
    set -- "$1" \${line##*) }
    [ "$4" = "$1" ] && [ "$2" != Z ] && return 0
  done
  return 1
}`;

/**
 * Runs detached (setsid nohup) so that a dropped connection neither kills nor loses the step.
 * Args: ROOT STEP INPUTS RUN_ID LOCK_ROOT GRACE_TICKS (tenths of a second).
 */
export const WRAPPER_SCRIPT = `# kit runner step wrapper: see ssh-wrapper.ts
set -u
root=$1 step=$2 inputs=$3 run=$4 locks=$5 ticks=$6
base=$root/$step
publish() { printf '%s\\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }
${LIVENESS}

# Let the run's GPU locks name this process: a lock is broken only after its wrapper is gone (and
# a minute has passed, so that the gap between two steps of one run does not free the GPUs).
mark_locks() {
  [ -d "$locks" ] || return 0
  {
    command -v flock >/dev/null 2>&1 && flock -w 30 9
    for d in "$locks"/*/; do
      [ -f "$d/owner" ] && [ "$(sed -n 1p "$d/owner")" = "$run" ] && publish "\${d}owner" "$run
$$"
    done
  } 9>>"$locks/.lock"
}

publish "$base.pid" "$$"
mark_locks
# An asynchronous child of a non-interactive shell is not a group leader, so setsid(1) does not
# fork: $! is the step, which leads its own session and process group. It records that group
# before running anything, reads the env file and deletes it (no secrets left at rest), then runs
# the script from the inputs directory.
setsid bash --norc --noprofile -c 'publish() { printf "%s\\n" "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }
publish "$1.pgid" "$$" || exit 125
. "$1.env" && rm -f "$1.env" && cd "$2" && exec bash --norc --noprofile -e "$1.sh"' kit-step "$base" "$inputs" >> "$base.log" 2>&1 < /dev/null &
pid=$!
wait "$pid"
rc=$?

# What the step left behind in its group (daemons, stray children) ends with it.
if group_alive "$pid"; then
  kill -TERM -- "-$pid" 2>/dev/null
  i=0
  while group_alive "$pid" && [ "$i" -lt "$ticks" ]; do sleep 0.1; i=$((i + 1)); done
  group_alive "$pid" && kill -KILL -- "-$pid" 2>/dev/null
fi
mark_locks
publish "$base.exit" "$rc"
`;

/** Shell that waits (up to 20 s) until the step at BASE has its process group, or has already ended. */
function awaitProcessGroup(base: string): string {
  return `i=0
while [ ! -s "${base}.pgid" ] && [ ! -e "${base}.exit" ]; do
  i=$((i + 1))
  if [ "$i" -gt 400 ]; then echo "the step wrapper did not start within 20 s" >&2; exit 1; fi
  sleep 0.05
done`;
}

/**
 * Unpack the step's files (a small tar on stdin, private to the user) and start the wrapper, then
 * wait until the step has its process group; prints the wrapper's pid. A step of the same name
 * still running there is refused: its files would be overwritten. Args as WRAPPER_SCRIPT, then
 * LAUNCH_ID.
 */
const LAUNCH = `set -u
${LIVENESS}
base=$1/$2
# Held until this script exits, so that ADOPT never looks while a launch is half done.
exec 8>> "$base.launch.lock"
command -v flock > /dev/null 2>&1 && flock -w 30 8
if [ -e "$base.pid" ] && [ ! -e "$base.exit" ] && pid_alive "$(cat "$base.pid")"; then
  echo "step $2 is still running in $1 (wrapper pid $(cat "$base.pid"))" >&2
  exit 1
fi
(umask 077 && exec tar -x -m -f - -C "$1" --no-same-owner --no-same-permissions) || exit 1
rm -f "$base.exit" "$base.pgid" "$base.pid" && : > "$base.log" || exit 1
# The launch id tells a runner whose connection dropped meanwhile that this launch got this far.
printf '%s\\n' "$7" > "$base.launch" || exit 1
setsid nohup bash --norc --noprofile "$1/${WRAPPER_NAME}" "$1" "$2" "$3" "$4" "$5" "$6" < /dev/null > /dev/null 2>&1 8>&- &
${awaitProcessGroup('$base')}
printf '%s\\n' "$!"`;

/**
 * After a connection dropped during LAUNCH: "started" once the step of launch LAUNCH_ID has its
 * process group, "absent" when that launch never got to start it (so launching again is safe).
 * Args: BASE LAUNCH_ID.
 */
const ADOPT = `exec 8>> "$1.launch.lock"
command -v flock > /dev/null 2>&1 && flock -w 30 8
[ "$(cat "$1.launch" 2>/dev/null)" = "$2" ] || { echo absent; exit 0; }
${awaitProcessGroup('$1')}
echo started`;

/**
 * Stream the log from byte OFFSET until the step is over and the log drained, then report on
 * stderr, in the same round trip, "kit-status: exit CODE LOG_BYTES", "kit-status: running" or
 * "kit-status: lost" (the wrapper died without writing an exit file). GNU tail reads to the end
 * once its --pid is gone; that pid is a watcher of ours rather than the wrapper, because a dead
 * wrapper can linger as a zombie of init while a watcher is reaped by this shell. Args: BASE OFFSET.
 */
const FOLLOW = `${LIVENESS}
wrapper=$(cat "$1.pid") || exit 1
while [ ! -e "$1.exit" ] && pid_alive "$wrapper"; do sleep 0.2; done < /dev/null > /dev/null 2>&1 &
watcher=$!
tail -c "+$(($2 + 1))" -s 0.1 -f --pid=$watcher "$1.log"
rc=$?
kill $watcher 2>/dev/null
if [ -e "$1.exit" ]; then printf 'kit-status: exit %s %s\\n' "$(cat "$1.exit")" "$(wc -c < "$1.log")" >&2
elif pid_alive "$wrapper"; then echo 'kit-status: running' >&2
else echo 'kit-status: lost' >&2; fi
exit $rc`;

/** Parse FOLLOW's report. */
export function parseFollowStatus(stderr: string): { state: 'exit'; code: number; logBytes: number } | { state: 'running' | 'lost' } | undefined {
  const line = [...stderr.matchAll(/^kit-status: (.*)$/gm)].pop()?.[1]?.trim();
  if (line === 'running' || line === 'lost') return { state: line };
  const m = /^exit (\d+) (\d+)$/.exec(line ?? '');
  return m ? { state: 'exit', code: Number(m[1]), logBytes: Number(m[2]) } : undefined;
}

/** SIGTERM the step's group, SIGKILL what is left after the grace period. Args: BASE GRACE_TICKS. */
const CANCEL = `${LIVENESS}
[ -e "$1.exit" ] && exit 0
pg=$(cat "$1.pgid" 2>/dev/null) && [ -n "$pg" ] || exit 0
kill -TERM -- "-$pg" 2>/dev/null || exit 0
i=0
while group_alive "$pg" && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i + 1)); done
group_alive "$pg" && kill -KILL -- "-$pg" 2>/dev/null
exit 0`;

export interface StepPaths {
  root: string;
  inputs: string;
  step: 'setup' | 'run';
}

export function stepBase(paths: Pick<StepPaths, 'root' | 'step'>): string {
  return `${paths.root}/${paths.step}`;
}

/**
 * The step's files as a small tar for LAUNCH: one round trip instead of one per file, and the
 * secrets in the env file travel on stdin, never on a command line (`ps` shows those to everyone).
 */
export function stepFilesTar(step: StepPaths['step'], script: string, envText: string): Buffer {
  return filesTar([
    { name: `${step}.env`, text: envText },
    { name: `${step}.sh`, text: script },
    { name: WRAPPER_NAME, text: WRAPPER_SCRIPT },
  ]);
}

/** Small text files as one tar, to land on a host in a single command. */
export function filesTar(files: Array<{ name: string; text: string; mode?: number }>): Buffer {
  const parts: Buffer[] = [];
  for (const { name, text, mode } of files) {
    const body = Buffer.from(text, 'utf8');
    parts.push(encodeTarHeader({ name, type: 'file', mode: mode ?? 0o600, size: body.length }), body, Buffer.alloc(padding(body.length)));
  }
  parts.push(TAR_TRAILER);
  return Buffer.concat(parts);
}

export const commands = {
  launch: (p: StepPaths, runId: string, lockRoot: string, graceTicks: number, launchId: string) => bash(LAUNCH, 'kit-launch', [p.root, p.step, p.inputs, runId, lockRoot, graceTicks, launchId]),
  adopt: (base: string, launchId: string) => bash(ADOPT, 'kit-adopt', [base, launchId]),
  follow: (base: string, offset: number) => bash(FOLLOW, 'kit-follow', [base, offset]),
  cancel: (base: string, graceTicks: number) => bash(CANCEL, 'kit-cancel', [base, graceTicks]),
  exists: (path: string) => shellCommand(['test', '-e', path]),
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The env file the step sources: sshd drops client-sent variables unless AcceptEnv allows them,
 * and a command line would show values to every user of the host (ps), so they travel as a file.
 */
export function envFileText(env: Record<string, string>): string {
  const lines = ['# written by the kit runner; sourced by the step wrapper'];
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw new KitError('INVALID_ARGUMENT', `environment variable name ${JSON.stringify(name)} is not a valid shell name`);
    // Named without the value: the value may be a secret.
    if (value.includes('\0')) throw new KitError('INVALID_ARGUMENT', `environment variable ${name} contains a NUL byte`);
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  return lines.join('\n') + '\n';
}
