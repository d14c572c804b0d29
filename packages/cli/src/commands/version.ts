import { TOOL_VERSION } from '@modelkit/core';
import type { Command } from 'commander';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Print the version')
    .action(() => {
      process.stdout.write(`Version: ${TOOL_VERSION}\nNode.js: ${process.version}\n`);
    });
}
