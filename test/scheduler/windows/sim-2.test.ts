/** Shard 2 of the Task Scheduler simulation (see sim-shard.ts). */
import { describeShard } from './sim-shard.js';

describeShard(1);
