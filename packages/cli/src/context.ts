import { kitopsHome, LocalStore } from '@modelkit/core';
import type { Command } from 'commander';

/** The store selected by --config (a KITOPS_HOME directory), else the environment. */
export async function openStore(command: Command): Promise<LocalStore> {
  const root = command.optsWithGlobals<{ config?: string }>().config;
  return LocalStore.open(root ?? kitopsHome());
}
