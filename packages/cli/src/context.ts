import { kitopsHome, LocalStore } from '@modelkit/core';
import type { Command } from 'commander';

/** The kit home selected by --config (a KITOPS_HOME directory), else the environment. */
export function kitHome(command: Command): string {
  return command.optsWithGlobals<{ config?: string }>().config ?? kitopsHome();
}

/** The local store under that home. */
export async function openStore(command: Command): Promise<LocalStore> {
  return LocalStore.open(kitHome(command));
}
