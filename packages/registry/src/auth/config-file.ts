/**
 * Reading Docker-format config files (`config.json`, kit's `credentials.json`): both are
 * `{"auths": {server: {auth, username, password, identitytoken, registrytoken}}, ...}`.
 */
import { readFile } from 'node:fs/promises';
import { KitError } from '@modelkit/core';
import { credentialError } from './errors.js';
import { decodeBasicAuth, makeCredential, type Credential } from './secret.js';

export interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: unknown;
  credHelpers?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The parsed file, or undefined when it does not exist. */
export async function readConfigFile(path: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new KitError('IO', `could not read credentials file ${path}: ${code ?? String(e)}`, { cause: e });
  }
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON.parse's message: V8 quotes the offending text, which may be a password.
    throw credentialError(`credentials file ${path} is not valid JSON; fix or delete it and log in again`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw credentialError(`credentials file ${path} must hold a JSON object; fix or delete it and log in again`);
  }
  return parsed as DockerConfigFile;
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The credential in an `auths` entry, or undefined when it holds none (helper users leave `{}`). */
export function credentialFromEntry(entry: AuthEntry | undefined, registry: string, path: string): Credential | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  const c: Credential = {};
  if (nonEmpty(entry.auth)) {
    const decoded = decodeBasicAuth(entry.auth);
    if (!decoded) throw credentialError(`the "auth" entry for ${registry} in ${path} is malformed; run \`kit login ${registry}\``);
    c.username = decoded.username;
    c.password = decoded.password;
  } else if (nonEmpty(entry.username) && typeof entry.password === 'string') {
    c.username = entry.username;
    c.password = entry.password;
  }
  if (nonEmpty(entry.identitytoken)) c.identityToken = entry.identitytoken;
  if (nonEmpty(entry.registrytoken)) c.registryToken = entry.registrytoken;
  return Object.keys(c).length === 0 ? undefined : makeCredential(c);
}
