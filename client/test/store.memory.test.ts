/** Runs the abstract ClientStore suite on the in-memory store. */
import { createMemoryStore } from '../src/stores/memory.ts';
import { storeSuite } from './store.suite.ts';

storeSuite('memory', { open: async () => createMemoryStore() });
