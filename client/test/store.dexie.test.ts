/** Runs the abstract ClientStore suite on the Dexie store over fake-indexeddb. */
import 'fake-indexeddb/auto';
import { createDexieStore } from '../src/stores/dexie.ts';
import { storeSuite } from './store.suite.ts';

let n = 0;
const names = new WeakMap<object, string>();

storeSuite('dexie', {
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
