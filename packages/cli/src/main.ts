#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { TOOL_VERSION } from '@modelkit/core';
import { registerDiff } from './commands/diff.js';
import { registerInfo } from './commands/info.js';
import { registerInit } from './commands/init.js';
import { registerInspect } from './commands/inspect.js';
import { registerList } from './commands/list.js';
import { registerLogin, registerLogout } from './commands/login.js';
import { registerPack } from './commands/pack.js';
import { registerPull } from './commands/pull.js';
import { registerPush } from './commands/push.js';
import { registerRemove } from './commands/remove.js';
import { registerTag } from './commands/tag.js';
import { registerUnpack } from './commands/unpack.js';
import { registerVersion } from './commands/version.js';
import { registerKeygen } from './commands/keygen.js';
import { registerReferrers } from './commands/referrers.js';
import { registerSbom } from './commands/sbom.js';
import { registerAttest, registerSign } from './commands/sign.js';
import { registerVerify } from './commands/verify.js';
import { registerLineage } from './commands/lineage.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerPodStep } from './commands/pod-step.js';
import { reportError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('kit')
    .description('Pack, inspect and unpack ModelKits: ML projects as OCI artifacts (KitOps-compatible)')
    .version(TOOL_VERSION, '--version')
    .option('--config <dir>', 'kit home directory (default: $KITOPS_HOME, else $XDG_DATA_HOME/kitops)')
    .exitOverride()
    .showHelpAfterError(false);
  for (const register of [registerPack, registerUnpack, registerList, registerInspect, registerInfo, registerTag, registerRemove, registerInit, registerDiff, registerVersion, registerPush, registerPull, registerLogin, registerLogout, registerSbom, registerReferrers, registerKeygen, registerSign, registerAttest, registerVerify, registerRun, registerRuns, registerLineage, registerPodStep]) {
    register(program);
  }
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

async function main(): Promise<number> {
  try {
    await buildProgram().parseAsync(process.argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    return reportError(e);
  }
}

process.exitCode = await main();
