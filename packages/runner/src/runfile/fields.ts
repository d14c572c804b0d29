/**
 * Readers for the top-level fields (resources.ts and outputs.ts hold the two larger sections):
 * each takes the field's located node, checks it and returns its parsed value, or records
 * problems and returns undefined.
 */
import { isKitError, parseFilter } from '@modelkit/core';
import { parseDuration } from './duration.js';
import { fieldPath, keyName, quote } from './problems.js';
import { describe, present, type Reader } from './read.js';
import { DEFAULT_RETRY, RETRY_EVENTS, RUNFILE_KEYS, type RetryEvent, type RunFile } from './schema.js';
import type { TreeNode } from './yaml-tree.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_HINT = 'names are letters, digits and "_", not starting with a digit, e.g. HF_TOKEN';
const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);

/** `setup` and `run`: one shell command or a list of them. */
export function readCommands(r: Reader, node: TreeNode, field: string, example: string): string[] | undefined {
  const hint = `write a shell command or a list of them, e.g. ${field}: ${example}`;
  return r.list(node, field, hint, (n, f) => r.nonEmptyText(n, f, hint));
}

export function readEnv(r: Reader, node: TreeNode): Record<string, string> | undefined {
  if (node.kind !== 'map') return r.report(node.pos, 'env', `must be a mapping, got ${describe(node)}; write NAME: value lines, e.g. EPOCHS: "3"`);
  const out: Array<[string, string]> = [];
  for (const { key, keyPos, value } of node.entries) {
    const field = fieldPath('env', keyName(key));
    if (!ENV_NAME.test(key)) r.report(keyPos, field, `${quote(key)} is not a valid environment variable name; ${ENV_NAME_HINT}`);
    else if (value.kind === 'null') {
      r.report(value.pos, field, `has no value; write ${key}: "" for an empty value, or list ${key} under secrets to take it from the caller's environment`);
    } else {
      const text = r.text(value, field, `write ${key}: value (quote it if it contains ": " or starts with a special character)`);
      if (text !== undefined) out.push([key, text]);
    }
  }
  // fromEntries defines own properties, so a key like __proto__ stays data.
  return Object.fromEntries(out);
}

export function readSecrets(r: Reader, node: TreeNode, env: Record<string, string> | undefined): string[] | undefined {
  const hint = 'list the names of variables to take from the caller\'s environment, e.g. secrets: [HF_TOKEN]';
  const seen = new Set<string>();
  return r.list(node, 'secrets', hint, (n, field) => {
    const name = r.text(n, field, hint);
    if (name === undefined) return undefined;
    if (!ENV_NAME.test(name)) return r.report(n.pos, field, `${quote(name)} is not a valid environment variable name; ${ENV_NAME_HINT}`);
    if (seen.has(name)) return r.report(n.pos, field, `${name} is listed twice; list each secret once`);
    seen.add(name);
    if (env && Object.hasOwn(env, name)) {
      return r.report(n.pos, field, `${name} is also set in env; a secret's value comes only from the caller's environment, so remove it from env (or from secrets if it is not secret)`);
    }
    return name;
  });
}

/** Filters in kit's `--filter` syntax, checked with the parser `kit unpack` uses. */
export function readInputs(r: Reader, node: TreeNode): string[] | undefined {
  const hint = 'write layer filters like [model, datasets:train, code] (TYPE[,TYPE][:NAME[,NAME]])';
  if (node.kind === 'seq' && node.items.length === 0) {
    return r.report(node.pos, 'inputs', 'an empty list selects no layers; leave out inputs to materialize every layer, or list the layers to use');
  }
  return r.list(node, 'inputs', hint, (n, field) => {
    const text = r.nonEmptyText(n, field, hint);
    if (text === undefined) return undefined;
    try {
      parseFilter(text.trim());
      return text.trim();
    } catch (e) {
      if (!isKitError(e)) throw e;
      return r.report(n.pos, field, e.message);
    }
  });
}

/** `max_duration`: a duration, or `off`/`false` for none (dstack's spelling of "no limit"). */
export function readMaxDuration(r: Reader, node: TreeNode): number | undefined {
  const text = r.text(node, 'max_duration', 'write a duration like 2h, or off');
  if (text === undefined || text === 'off' || FALSE.has(text)) return undefined;
  return r.grammar(node.pos, () => parseDuration(text, 'max_duration'));
}

/** `retry: true | false` or `{on_events, duration}`; undefined means no retries (or a problem). */
export function readRetry(r: Reader, node: TreeNode): RunFile['retry'] {
  if (node.kind === 'scalar') {
    if (TRUE.has(node.text)) return { ...DEFAULT_RETRY, onEvents: [...DEFAULT_RETRY.onEvents] };
    if (FALSE.has(node.text)) return undefined;
  }
  const entries = r.mapping(node, 'retry', RUNFILE_KEYS.retry, 'write retry: true, or on_events and duration under it, e.g. on_events: [no_capacity, interruption]');
  if (!entries) return undefined;
  const eventsNode = present(entries, 'on_events');
  const onEvents = eventsNode ? readRetryEvents(r, eventsNode) : [...DEFAULT_RETRY.onEvents];
  const durationNode = present(entries, 'duration');
  const durationText = durationNode && r.text(durationNode, 'retry.duration', 'write a duration like 1h');
  const durationMs = durationNode
    ? durationText === undefined ? undefined : r.grammar(durationNode.pos, () => parseDuration(durationText, 'retry.duration'))
    : DEFAULT_RETRY.durationMs;
  if (!onEvents || durationMs === undefined) return undefined;
  return { onEvents, durationMs };
}

function readRetryEvents(r: Reader, node: TreeNode): RetryEvent[] | undefined {
  const hint = `list events from ${RETRY_EVENTS.join(', ')}, e.g. on_events: [no_capacity, interruption]`;
  if (node.kind === 'seq' && node.items.length === 0) {
    return r.report(node.pos, 'retry.on_events', 'is empty, so nothing would be retried; list events, or leave out retry');
  }
  const events = r.list(node, 'retry.on_events', hint, (n, field) => {
    const text = r.text(n, field, hint);
    if (text === undefined) return undefined;
    // dstack spells it no-capacity; accept both so dstack configs carry over.
    const event = text.replace(/-/g, '_') as RetryEvent;
    return RETRY_EVENTS.includes(event) ? event : r.report(n.pos, field, `${quote(text)} is not a retry event; ${hint}`);
  });
  return events && [...new Set(events)];
}

/** `nodes`: how many machines the run spans, a whole number from 1. */
export function readNodes(r: Reader, node: TreeNode): number | undefined {
  const hint = 'write a whole number of machines, e.g. nodes: 2';
  const text = r.text(node, 'nodes', hint);
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,3}$/.test(text)) return r.report(node.pos, 'nodes', `${quote(text)} is not a number of nodes; ${hint}`);
  return Number(text);
}

/** `image`: a container image reference (Docker syntax), used by container backends. */
export function readImage(r: Reader, node: TreeNode): string | undefined {
  const hint = 'write an image reference, e.g. image: pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime';
  const text = r.nonEmptyText(node, 'image', hint);
  if (text === undefined) return undefined;
  if (/\s/.test(text.trim()) || !/^[a-z0-9]/.test(text.trim())) return r.report(node.pos, 'image', `${quote(text)} is not an image reference; ${hint}`);
  return text.trim();
}
