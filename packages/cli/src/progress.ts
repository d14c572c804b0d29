import { formatBytes, type TransferProgress } from '@modelkit/core';

const WIDTH = 30;
const INTERVAL_MS = 100;

/**
 * A one-line progress bar on stderr for long transfers, only when both stdout and stderr are
 * terminals (scripts and pipes get plain output). Returns undefined when there is no terminal.
 */
export function terminalProgress(verb: string): { update: (p: TransferProgress) => void; done: () => void } | undefined {
  if (!process.stdout.isTTY || !process.stderr.isTTY) return undefined;
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < INTERVAL_MS && p.done < p.total) return;
      last = now;
      const fraction = p.total > 0 ? p.done / p.total : 1;
      const filled = Math.round(fraction * WIDTH);
      const bar = `${'='.repeat(filled)}${' '.repeat(WIDTH - filled)}`;
      process.stderr.write(`\r\x1b[K${verb} ${p.kind} ${p.path} [${bar}] ${Math.floor(fraction * 100)}% ${formatBytes(p.done)}/${formatBytes(p.total)}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
