/** Runs the abstract ClientStore suite on the Dexie store over fake-indexeddb. */
import 'fake-indexeddb/auto';
import { createDexieStore } from '../src/stores/dexie.ts';
import { storeSuite } from './store.suite.ts';

let n = 0;
const names = new WeakMap<object, string>();

storeSuite('dexie', {
  // fake-indexeddb is a pure-JS IndexedDB, ~50× slower than a browser's: a
  // smaller burst keeps the suite lean on shared CPUs while exercising the same bulk path.
  burst: 1500,
  async open() {
    n += 1;
    const name = `sotto-test-${n}`;
    const store = createDexieStore({ name });
    names.set(store, name);
    return store;
  },
  async reopen(store) {
    const name = names.get(store)!;
    await store.close();
    return createDexieStore({ name });
  },
});
