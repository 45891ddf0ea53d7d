/**
 * Permissions of what the key server keeps on disk (docs/OPERATIONS.md "Files on disk"): the
 * data dir is created 0700, the SQLite database (password and token hashes) and the signing key
 * 0600, and at start a data dir or secret file that group or others may open is refused with a
 * message saying how to fix it — unless the operator says `--insecure-permissions`. Used by the
 * standalone key server and by embedded mode (`npm start`), before anything is opened.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A data dir or secret file that group or others can open; the message says which and how to fix it. */
export class PermissionError extends Error {
  override readonly name = 'PermissionError';
}

/** A file that must be readable by the owner alone. */
export interface SecretFile {
  path: string;
  /** Create it empty, 0600, when missing (for files another library opens with its own mode). */
  create?: boolean;
}

/** Access bits for group and others. */
const GROUP_OTHER = 0o077;

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * Create `dir` (0700) when missing, create the missing secret files marked `create` (0600), and
 * check every existing one: group or other bits on any of them throw {@link PermissionError},
 * or only call `warn` when `insecure`.
 */
export function secureFiles(opts: {
  dir: string;
  files: readonly SecretFile[];
  insecure: boolean;
  warn?: (message: string) => void;
}): void {
  const problems: string[] = [];
  const dir = resolve(opts.dir);
  if (existsSync(dir)) {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new PermissionError(`${dir} is not a directory`);
    if (st.mode & GROUP_OTHER)
      problems.push(`data dir ${dir} is mode ${octal(st.mode)} (fix: chmod 700 ${dir})`);
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  for (const f of opts.files) {
    const path = resolve(f.path);
    if (!existsSync(path)) {
      // 'wx': never follow or truncate something that appeared meanwhile.
      if (f.create) closeSync(openSync(path, 'wx', 0o600));
      continue;
    }
    const mode = statSync(path).mode;
    if (mode & GROUP_OTHER)
      problems.push(`secret file ${path} is mode ${octal(mode)} (fix: chmod 600 ${path})`);
  }
  if (problems.length === 0) return;
  const list = problems.join('; ');
  if (opts.insecure) {
    opts.warn?.(`insecure permissions accepted (--insecure-permissions): ${list}`);
    return;
  }
  throw new PermissionError(
    `refusing to start: ${list}. Other users of this machine could read password hashes, ` +
      'tokens or the signing key. Fix the modes, or start with --insecure-permissions ' +
      '(INSECURE_PERMISSIONS=1) to accept them.',
  );
}

/** The slice of the key server's configuration that says where its files are. */
export interface DataDirConfig {
  dataDir: string;
  redisUrl: string | null;
  jwtKeyFile: string | null;
  mfaKeyFile?: string | null;
  vapidKeyFile?: string | null;
  insecurePermissions: boolean;
}

/**
 * Secure the key server's data dir before it is used: the SQLite database and its WAL files
 * (without Redis), the signing key, the MFA key, the VAPID key, and `extraSecrets` (embedded
 * mode's TLS key). Returns the absolute data dir and key-file paths.
 */
export function secureDataDir(
  config: DataDirConfig,
  opts: { extraSecrets?: readonly string[]; warn?: (message: string) => void } = {},
): { dataDir: string; jwtKeyFile: string; mfaKeyFile: string; vapidKeyFile: string } {
  const dataDir = resolve(config.dataDir);
  const jwtKeyFile = resolve(config.jwtKeyFile ?? join(dataDir, 'jwt-ed25519.pem'));
  const mfaKeyFile = resolve(config.mfaKeyFile ?? join(dataDir, 'mfa.key'));
  const vapidKeyFile = resolve(config.vapidKeyFile ?? join(dataDir, 'vapid.json'));
  const db = join(dataDir, 'keyserver.db');
  // SQLite creates its -wal and -shm files with the database file's mode.
  const sqlite: SecretFile[] = config.redisUrl
    ? []
    : [{ path: db, create: true }, { path: `${db}-wal` }, { path: `${db}-shm` }];
  secureFiles({
    dir: dataDir,
    files: [
      ...sqlite,
      { path: jwtKeyFile },
      { path: mfaKeyFile },
      { path: vapidKeyFile },
      ...(opts.extraSecrets ?? []).map((path) => ({ path })),
    ],
    insecure: config.insecurePermissions,
    ...(opts.warn ? { warn: opts.warn } : {}),
  });
  return { dataDir, jwtKeyFile, mfaKeyFile, vapidKeyFile };
}
