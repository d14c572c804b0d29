// One measured registry operation per process, so each reports its own peak RSS.
import { performance } from 'node:perf_hooks';
import { LocalStore, parseFilter } from '../packages/core/dist/index.js';
import { pullModelKit, pushModelKit, RemoteRepository, Transport } from '../packages/registry/dist/index.js';

const [op, home, host, repo, source, filter] = process.argv.slice(2);
const store = await LocalStore.open(home);
const transport = new Transport(host, { plainHttp: true });
const repository = new RemoteRepository(transport, repo);
const start = performance.now();
let bytes = 0;
if (op === 'push') {
  await pushModelKit({ store, source, repository, tags: ['v1'], uploadMode: 'monolithic', onBlob: (e) => (bytes += e.size) });
} else {
  const result = await pullModelKit({ store, repository, reference: 'v1', filters: filter ? [parseFilter(filter)] : [] });
  bytes = result.bytesDownloaded;
}
const seconds = (performance.now() - start) / 1000;
await transport.close();
process.stdout.write(JSON.stringify({ op, seconds, bytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
