import { KitError } from '@modelkit/core';

/**
 * Quote one word for a POSIX shell: single quotes keep everything literal, and a single quote
 * itself is closed, escaped and reopened. Every path and value in a remote command goes through
 * this, so no name a user controls can inject shell syntax.
 */
export function shellQuote(word: string): string {
  // A NUL cannot travel in a shell word (C strings end there); refusing beats silent truncation.
  if (word.includes('\0')) throw new KitError('INVALID_ARGUMENT', 'a shell argument contains a NUL byte');
  if (/^[A-Za-z0-9_./=:,@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A whole argv as one shell command line. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/**
 * `bash -c SCRIPT NAME ARGS…`: the script is constant text and every value an argument, never
 * spliced into code. `--norc`: Debian's bash reads ~/.bashrc whenever it sees SSH_CLIENT, which can
 * cost a tenth of a second per command (pyenv, conda); the login shell running this read it already.
 */
export function bashCommand(script: string, name: string, args: ReadonlyArray<string | number>): string {
  return shellCommand(['bash', '--norc', '--noprofile', '-c', script, name, ...args.map(String)]);
}
