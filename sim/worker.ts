// A worker thread of netmatrix-sim (run.ts starts one per --workers): runs its
// share of the agents until the end of the run, posting its statistics every
// second and once more at the end, then exits.
import { parentPort, workerData } from 'node:worker_threads';
import { shardAgents, type ShardInput } from './shard.js';

const STATS_EVERY_MS = 1_000;

const port = parentPort!;
const input = workerData as ShardInput;
const agents = shardAgents(input);
const timer = setInterval(() => port.postMessage({ stats: agents.stats }), STATS_EVERY_MS);
// The parent asks to stop early (Ctrl-C), or to start the faults now (SIGUSR1).
port.on('message', (m: { stop?: boolean; faults?: boolean }) => {
  if (m.stop) agents.close();
  if (m.faults) agents.startFaultsNow();
});
// The final statistics go out as soon as the run ends (close() takes its snapshot first): closing
// thousands of channels takes seconds, and the parent stops this thread once it has them.
agents.onClose(() => {
  clearInterval(timer);
  port.postMessage({ stats: agents.stats, done: true });
});
const running = agents.run();
await agents.connect(input.config.connectRate / input.config.workers);
await running;
port.close();
