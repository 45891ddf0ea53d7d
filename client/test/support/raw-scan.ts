/**
 * Looking at a local database as a thief of the device would (issue 15): what of a set of
 * secrets appears in raw bytes, in any of the encodings a store could have used.
 */

/** What must not be found: texts (message words, tokens, names) and key bytes. */
export interface Secrets {
  texts: string[];
  keys: Uint8Array[];
}

/** Whether `needle` occurs in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0 || needle.length > hay.length) return false;
  const first = needle[0];
  outer: for (
    let i = hay.indexOf(first!);
    i !== -1 && i <= hay.length - needle.length;
    i = hay.indexOf(first!, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const utf16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf16le'));
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/**
 * The secrets found in `bytes`, each named with the encoding it was found in: texts as UTF-8
 * (also Latin-1) and UTF-16; keys raw, as hex, base64 and base64url, in UTF-8 and UTF-16.
 */
export function secretsIn(bytes: Uint8Array, secrets: Secrets): string[] {
  const found: string[] = [];
  for (const t of secrets.texts) {
    if (contains(bytes, utf8(t))) found.push(`text ${JSON.stringify(t)} (utf-8)`);
    if (contains(bytes, utf16(t))) found.push(`text ${JSON.stringify(t)} (utf-16)`);
  }
  secrets.keys.forEach((k, i) => {
    if (contains(bytes, k)) found.push(`key ${i} (raw)`);
    const b = Buffer.from(k);
    for (const [enc, s] of [
      ['hex', b.toString('hex')],
      ['base64', b.toString('base64').replace(/=+$/, '')],
      ['base64url', b.toString('base64url')],
    ] as const) {
      if (contains(bytes, utf8(s))) found.push(`key ${i} (${enc})`);
      if (contains(bytes, utf16(s))) found.push(`key ${i} (${enc}, utf-16)`);
    }
  });
  return found;
}

/** Every value of a record, flattened to bytes: strings as UTF-8, binary as is. */
function flatten(value: unknown, out: Uint8Array[]): void {
  if (typeof value === 'string') out.push(utf8(value), Uint8Array.of(0));
  else if (value instanceof Uint8Array) out.push(value, Uint8Array.of(0));
  else if (value instanceof ArrayBuffer) out.push(new Uint8Array(value), Uint8Array.of(0));
  else if (typeof value === 'number' || typeof value === 'boolean') out.push(utf8(String(value)));
  else if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else if (value instanceof Map || value instanceof Set) {
    // The Dexie store's postings keep their blinded keys as a Map's keys.
    for (const v of value) flatten(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(utf8(k), Uint8Array.of(0));
      flatten(v, out);
    }
  }
}

/** Every object store of IndexedDB database `name`, keys and values, as raw bytes per store. */
export async function dumpIndexedDb(
  factory: IDBFactory,
  name: string,
): Promise<Record<string, Uint8Array>> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = factory.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('cannot open'));
  });
  const out: Record<string, Uint8Array> = {};
  try {
    for (const storeName of Array.from(db.objectStoreNames)) {
      const store = db.transaction(storeName, 'readonly').objectStore(storeName);
      const [keys, values] = await Promise.all(
        [store.getAllKeys(), store.getAll()].map(
          (req) =>
            new Promise<unknown[]>((resolve, reject) => {
              req.onsuccess = () => resolve(req.result as unknown[]);
              req.onerror = () => reject(req.error ?? new Error('cannot read'));
            }),
        ),
      );
      const parts: Uint8Array[] = [];
      flatten(keys, parts);
      flatten(values, parts);
      out[storeName] = Buffer.concat(parts);
    }
  } finally {
    db.close();
  }
  return out;
}
