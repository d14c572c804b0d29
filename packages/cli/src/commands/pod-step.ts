import { loadPrivateKey } from '@modelkit/core';
import { failureMessage, materializeInPod, packageInPod, podLayout, writeTermination, type PackageStepOptions } from '@modelkit/runner';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';

interface StepFlags extends NetworkFlags {
  root: string;
  filter?: string[];
  runId?: string;
  job?: string;
  namespace?: string;
  nodes?: string;
  tag?: string[];
  signingKey?: string;
  mask?: string[];
}

/**
 * `kit pod-step materialize|package`: the kit image's part of a Kubernetes run's pod (hidden; the
 * Job's manifest is the only caller). A failure is also written as the container's termination
 * message, which is how the submitter learns its KitError code.
 */
export function registerPodStep(program: Command): void {
  const step = program.command('pod-step', { hidden: true }).description('Steps of a Kubernetes run inside its pod (used by the Job kit run creates)');
  withNetworkOptions(
    step
      .command('materialize')
      .description('Pull the pinned input and unpack the layers the run file selects into <root>/work/inputs')
      .argument('<input>', 'registry/repository@sha256:…')
      .requiredOption('--root <dir>', 'where the pod mounts its volumes')
      .option('--filter <filter...>', "the run file's inputs (default: every layer)"),
  ).action(async (input: string, opts: StepFlags, command: Command) => {
    const layout = podLayout(opts.root);
    const client = registryClient(command, opts);
    try {
      await materializeInPod({ store: await openStore(command), client, input, layout, inputs: opts.filter, log });
    } catch (e) {
      await writeTermination(layout, failureMessage(e, 'materialize'));
      throw e;
    } finally {
      await client.close();
    }
  });
  withNetworkOptions(
    step
      .command('package')
      .description('On rank 0: pack <root>/work/outputs as a new ModelKit with provenance and push it')
      .argument('<input>', 'registry/repository@sha256:…')
      .requiredOption('--root <dir>', 'where the pod mounts its volumes')
      .requiredOption('--run-id <id>', 'the run id')
      .requiredOption('--job <name>', "the Job's name, for provenance")
      .requiredOption('--namespace <ns>', "the Job's namespace, for provenance")
      .option('--nodes <n>', 'nodes the run spans', '1')
      .option('-t, --tag <reference...>', 'where to push the output')
      .option('--signing-key <file>', 'sign the provenance with this key')
      .option('--mask <name...>', 'environment variables whose values are masked in the log before it is hashed'),
  ).action(async (input: string, opts: StepFlags, command: Command) => {
    const layout = podLayout(opts.root);
    const client = registryClient(command, opts);
    const stage: PackageStepOptions['stage'] = { current: 'pack' };
    try {
      const output = await packageInPod({
        store: await openStore(command),
        client,
        input,
        layout,
        log,
        runId: opts.runId!,
        job: opts.job!,
        namespace: opts.namespace!,
        nodes: Number(opts.nodes ?? 1),
        tags: opts.tag ?? [],
        key: opts.signingKey ? await loadPrivateKey(opts.signingKey) : undefined,
        mask: opts.mask ?? [],
        env: process.env,
        stage,
      });
      await writeTermination(layout, JSON.stringify(output ?? { skipped: true }));
    } catch (e) {
      await writeTermination(layout, failureMessage(e, stage.current));
      throw e;
    } finally {
      await client.close();
    }
  });
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}
