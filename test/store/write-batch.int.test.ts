// Every WriteBatch runs the one conformance suite (write-batch.suite.ts) on a real LevelDB.
import { writeBatchSuite } from './write-batch.suite.js';
import { SUBJECTS } from './write-batch.subjects.js';

for (const subject of SUBJECTS) writeBatchSuite(subject);
