import { KitError } from '@modelkit/core';
import { bashCommand as bash } from './shell-quote.js';
import { LIVENESS } from './ssh-wrapper.js';

/**
 * GPU locks on a remote host: one directory per GPU under LOCK_ROOT, created with mkdir (atomic),
 * holding `owner` = "RUN_ID\n[WRAPPER_PID]\n". The step wrapper fills in its pid while it runs
 * (ssh-wrapper.ts). A lock is broken when that wrapper is gone and the owner file has not changed
 * for a minute; a lock without a pid (reserved, no step started yet) stands until released. All
 * lock changes are serialised with flock(1) on LOCK_ROOT/.lock where it exists, so two reservers
 * cannot both break the same stale lock.
 */

/** Args: LOCK_ROOT RUN_ID DIR… Prints "busy DIR HOLDER PID" and exits 3 when one is held; all or nothing. */
const RESERVE = `set -u
${LIVENESS}
locks=$1 run=$2
shift 2
mkdir -p "$locks" || exit 1
exec 9>>"$locks/.lock"
command -v flock >/dev/null 2>&1 && flock -w 30 9
holder() { sed -n "$2p" "$locks/$1/owner" 2>/dev/null; }
stale() {
  pid=$(holder "$1" 2)
  if [ ! -f "$locks/$1/owner" ]; then
    # mkdir done, owner never written: the reserver died in between.
    [ -n "$(find "$locks/$1" -maxdepth 0 -mmin +1 2>/dev/null)" ]
  elif [ -z "$pid" ] || pid_alive "$pid"; then
    return 1
  else
    [ -n "$(find "$locks/$1/owner" -mmin +1 2>/dev/null)" ]
  fi
}
taken=
for d in "$@"; do
  if [ -d "$locks/$d" ] && [ "$(holder "$d" 1)" != "$run" ] && stale "$d"; then rm -rf "$locks/$d"; fi
  if mkdir "$locks/$d" 2>/dev/null; then
    printf '%s\\n' "$run" > "$locks/$d/owner" || exit 1
    taken="$taken $d"
  elif [ "$(holder "$d" 1)" != "$run" ]; then
    printf 'busy %s %s %s\\n' "$d" "$(holder "$d" 1)" "$(holder "$d" 2)"
    for t in $taken; do rm -rf "$locks/$t"; done
    exit 3
  fi
done
echo ok`;

/** Args: LOCK_ROOT RUN_ID DIR… Removes only locks this run holds. */
const RELEASE = `locks=$1 run=$2
shift 2
[ -d "$locks" ] || exit 0
exec 9>>"$locks/.lock"
command -v flock >/dev/null 2>&1 && flock -w 30 9
for d in "$@"; do
  [ "$(sed -n 1p "$locks/$d/owner" 2>/dev/null)" = "$run" ] && rm -rf "$locks/$d"
done
exit 0`;

/** A GPU UUID as one directory name: MIG UUIDs contain '/', so encode like the local locks do. */
export function lockDirName(uuid: string): string {
  const name = encodeURIComponent(uuid);
  if (!/^[A-Za-z0-9._%-]+$/.test(name) || name === '.' || name === '..') throw new KitError('INVALID_ARGUMENT', `GPU UUID ${JSON.stringify(uuid)} is not a valid UUID`);
  return name;
}

export function reserveCommand(lockRoot: string, runId: string, uuids: string[]): string {
  return bash(RESERVE, 'kit-gpu-reserve', [lockRoot, runId, ...uuids.map(lockDirName)]);
}

export function releaseCommand(lockRoot: string, runId: string, uuids: string[]): string {
  return bash(RELEASE, 'kit-gpu-release', [lockRoot, runId, ...uuids.map(lockDirName)]);
}

/** The holder named by RESERVE's "busy" line, or undefined when all were taken. */
export function parseBusy(stdout: string): { uuid: string; runId: string; pid?: string } | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('busy '));
  if (!line) return undefined;
  const [, dir = '', runId = '', pid] = line.split(' ');
  let uuid = dir;
  try {
    uuid = decodeURIComponent(dir);
  } catch {
    // not one of ours; report the directory name
  }
  return { uuid, runId: runId || '(unknown)', pid: pid || undefined };
}
