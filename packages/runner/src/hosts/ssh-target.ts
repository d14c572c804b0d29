import { userInfo } from 'node:os';
import { KitError } from '@modelkit/core';

/** Where to connect: what `user@host[:port]` names. */
export interface SshTarget {
  user: string;
  host: string;
  port: number;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;

function invalid(text: string, why: string): KitError {
  return new KitError('INVALID_ARGUMENT', `invalid SSH target "${text}": ${why}; expected user@host[:port] or user@[ipv6]:port`);
}

function defaultUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

/**
 * Parse `user@host[:port]`, `[ipv6]:port`, a bare IPv6 address or `ssh://user@host:port` (the form
 * SshHost.description prints). The user defaults to the local one, the port to 22.
 */
export function parseSshTarget(text: string): SshTarget {
  let rest = text.trim();
  if (rest.startsWith('ssh://')) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  if (rest === '') throw invalid(text, 'it is empty');
  let user = defaultUser();
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) throw invalid(text, `"${user}" is not a valid user name`);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw invalid(text, "'[' without ']'");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw invalid(text, `unexpected "${after}" after the address`);
      portText = after.slice(1);
    }
    if (!/^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/.test(host) || !host.includes(':')) throw invalid(text, `"${host}" is not an IPv6 address`);
  } else if ((rest.match(/:/g) ?? []).length > 1) {
    // Several colons without brackets: a bare IPv6 address, which cannot carry a port.
    host = rest;
    if (!/^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/.test(host)) throw invalid(text, `"${host}" is not an IPv6 address (use [addr]:port for a port)`);
  } else {
    const colon = rest.indexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    if (colon !== -1) portText = rest.slice(colon + 1);
    if (!HOSTNAME.test(host)) throw invalid(text, `"${host}" is not a valid host name`);
  }
  let port = 22;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw invalid(text, `port "${portText}" is not a number from 1 to 65535`);
    port = Number(portText);
  }
  return { user, host, port };
}

/** `host` or `[host]:port`: how OpenSSH names a host in known_hosts (and how humans read it). */
export function hostPortName(target: Pick<SshTarget, 'host' | 'port'>): string {
  return target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
}

/** ssh://user@host:port, brackets around IPv6. */
export function describeTarget(target: SshTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `ssh://${target.user}@${host}:${target.port}`;
}
