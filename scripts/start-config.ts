/**
 * Configuration of embedded mode (`npm start`, DESIGN.md §2): the key
 * server's own options (port, host, data dir, public URL, Redis URL, token
 * lifetimes, rate limits, …) are parsed and validated by the key server's
 * config module, so they are defined once; this module adds only what the
 * single process needs on top — the MQTT TCP port, TLS files and what to do
 * about the web client — and validates those against its own schema
 * (`additionalProperties: false`).
 *
 * The only module of `scripts/start.ts` that reads `process.env`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  ConfigError,
  ENV_NAMES,
  loadConfig as loadKeyServerConfig,
  type KeyServerConfig,
} from '@sotto/keyserver';

export { ConfigError };

/** What to do about the web client's static files. */
export type WebMode =
  /** Build `web-client/dist` when it is missing or older than its sources, then serve it. */
  | 'auto'
  /** Serve `web-client/dist` as it is (never build). */
  | 'prebuilt'
  /** Serve no web client. */
  | 'off';

/** Options of embedded mode that the key server does not know about. */
export interface EmbeddedOptions {
  /** MQTT over TCP; 0 = off. */
  mqttPort: number;
  tls: { certFile: string; keyFile: string } | null;
  web: WebMode;
  /** Operator policy file in Mosquitto's acl_file syntax (broker/src/policy.ts); null = none. */
  policyFile: string | null;
  /** Operator accounts: a Mosquitto password_file (broker/src/passwords.ts); null = none. */
  passwordFile: string | null;
  /** Admit clients without a user name to the policy's anonymous rules. */
  allowAnonymous: boolean;
}

/** The whole embedded configuration. */
export interface EmbeddedConfig {
  keyserver: KeyServerConfig;
  embedded: EmbeddedOptions;
  /** True when the public URL was derived from host/port rather than given. */
  publicUrlDerived: boolean;
}

/** Flags handled here: flag → environment variable. */
const OWN_OPTIONS = {
  'mqtt-port': 'MQTT_PORT',
  'tls-cert': 'TLS_CERT',
  'tls-key': 'TLS_KEY',
  web: 'WEB',
  'policy-file': 'POLICY_FILE',
  'password-file': 'PASSWORD_FILE',
  'allow-anonymous': 'ALLOW_ANONYMOUS',
} as const;
type OwnFlag = keyof typeof OWN_OPTIONS;
/** Own flags that may stand alone (`--allow-anonymous` = `--allow-anonymous=true`). */
const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(['allow-anonymous']);

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['mqttPort', 'tls', 'web', 'policyFile', 'passwordFile', 'allowAnonymous'],
  properties: {
    mqttPort: { type: 'integer', minimum: 0, maximum: 65535 },
    tls: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['certFile', 'keyFile'],
      properties: {
        certFile: { type: 'string', minLength: 1 },
        keyFile: { type: 'string', minLength: 1 },
      },
    },
    web: { enum: ['auto', 'prebuilt', 'off'] },
    policyFile: { type: ['string', 'null'], minLength: 1 },
    passwordFile: { type: ['string', 'null'], minLength: 1 },
    allowAnonymous: { type: 'boolean' },
  },
} as const;

/** The slice of Ajv 8's API used here. */
interface ValidateFn {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}
interface AjvLike {
  compile(schema: object): ValidateFn;
}
// Ajv 8 as the key server declares and uses it (the repository root only has eslint's Ajv 6).
const requireFromKeyServer = createRequire(
  join(import.meta.dirname, '..', 'keyserver', 'package.json'),
);
const { Ajv } = requireFromKeyServer('ajv') as { Ajv: new (opts: object) => AjvLike };
const validate = new Ajv({ allErrors: true, coerceTypes: true }).compile(schema);

/** Embedded mode listens on loopback unless told otherwise (see docs/OPERATIONS.md "Running"). */
export const DEFAULT_HOST = '127.0.0.1';

/** `--help` text. */
export function helpText(): string {
  const others = ENV_NAMES.filter(
    (n) =>
      ![
        'HOST',
        'PORT',
        'DATA_DIR',
        'PUBLIC_URL',
        'REDIS_URL',
        'METRICS_PORT',
        'INSECURE_PERMISSIONS',
      ].includes(n),
  );
  return `Sotto, everything in one process: key server, MQTT broker, web client.

Usage: npm start -- [options]      (every option can also be set as an environment variable)

  --port <n>          PORT         HTTP port: web client, REST API /v1, MQTT over WebSocket /mqtt (8080)
  --host <addr>       HOST         listen address (${DEFAULT_HOST}; use 0.0.0.0 to accept other machines)
  --mqtt-port <n>     MQTT_PORT    MQTT over TCP for bots and devices (1883; 0 = off)
  --data-dir <dir>    DATA_DIR     SQLite database, encrypted blobs and the token-signing key (./data)
  --public-url <url>  PUBLIC_URL   URL people open; also the tokens' issuer (http://localhost:<port>)
  --redis-url <url>   REDIS_URL    join a cluster: Redis store, ACL events and broker state (off)
  --tls-cert <file>   TLS_CERT     PEM certificate: serve HTTPS/WSS and MQTT over TLS
  --tls-key <file>    TLS_KEY      PEM private key for --tls-cert
  --web <mode>        WEB          web client: auto (build when stale), prebuilt, off (auto)
  --policy-file <f>   POLICY_FILE  MQTT namespaces for plain clients, Mosquitto acl_file syntax (off)
  --password-file <f> PASSWORD_FILE  their accounts: a Mosquitto password_file (mosquitto_passwd)
  --allow-anonymous   ALLOW_ANONYMOUS=true  admit clients without a user name to the policy (off)
  --metrics-port <n>  METRICS_PORT Prometheus /metrics on its own port, key server and broker (off)
  --insecure-permissions  INSECURE_PERMISSIONS=1  start even if the data dir or a secret
                                   file is open to group or others (refused otherwise)
  --help                           show this help

Key server options, same flag/variable scheme (docs/OPERATIONS.md "Configuration reference"):
  ${others.join(', ')}
`;
}

/** True when `--help` or `-h` is among the arguments. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Split our own flags (`--mqtt-port 1884`, `--mqtt-port=1884`) from the rest,
 * which go to the key server's parser unchanged.
 */
function splitArgs(argv: readonly string[]): {
  own: Partial<Record<OwnFlag, string>>;
  rest: string[];
} {
  const own: Partial<Record<OwnFlag, string>> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (name !== undefined && name in OWN_OPTIONS) {
      let value = m?.[2];
      if (value === undefined && BOOLEAN_FLAGS.has(name)) value = 'true';
      if (value === undefined) {
        value = argv[i + 1];
        if (value === undefined || value.startsWith('--'))
          throw new ConfigError(`option --${name} needs a value`);
        i++;
      }
      own[name as OwnFlag] = value;
    } else {
      rest.push(arg);
    }
  }
  return { own, rest };
}

/**
 * Build and validate the embedded configuration from flags and environment
 * (flags win). Throws {@link ConfigError} naming every problem.
 */
export function loadEmbeddedConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): EmbeddedConfig {
  const { own, rest } = splitArgs(argv);
  const pick = (flag: OwnFlag): string | undefined => {
    const v = own[flag] ?? env[OWN_OPTIONS[flag]];
    return v === '' ? undefined : v;
  };
  const certFile = pick('tls-cert');
  const keyFile = pick('tls-key');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError('--tls-cert (TLS_CERT) and --tls-key (TLS_KEY) go together');
  const raw: Record<string, unknown> = {
    mqttPort: pick('mqtt-port') ?? 1883,
    tls: certFile && keyFile ? { certFile, keyFile } : null,
    web: pick('web') ?? 'auto',
    policyFile: pick('policy-file') ?? null,
    passwordFile: pick('password-file') ?? null,
    allowAnonymous: pick('allow-anonymous') ?? false,
  };
  if (raw.allowAnonymous !== false && !['true', 'false'].includes(String(raw.allowAnonymous)))
    throw new ConfigError('--allow-anonymous (ALLOW_ANONYMOUS) must be true or false');
  if ((raw.passwordFile !== null || raw.allowAnonymous === 'true') && raw.policyFile === null)
    throw new ConfigError(
      '--password-file and --allow-anonymous open the namespaces of a --policy-file: give one',
    );
  if (!validate(raw)) {
    const problems = (validate.errors ?? [])
      .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
      .join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const embedded = raw as unknown as EmbeddedOptions;

  // Loopback by default: a first `npm start` should not expose an empty server to the network.
  const ksEnv = { ...env };
  if (!ksEnv.HOST && !rest.some((a) => a === '--host' || a.startsWith('--host=')))
    ksEnv.HOST = DEFAULT_HOST;
  const keyserver = loadKeyServerConfig(rest, ksEnv);
  // One line per request is too chatty for a desktop `npm start`; warnings and errors still show.
  const logLevelGiven =
    !!env.LOG_LEVEL || rest.some((a) => a === '--log-level' || a.startsWith('--log-level='));
  if (!logLevelGiven) keyserver.logLevel = 'warn';

  const publicUrlGiven =
    !!env.PUBLIC_URL || rest.some((a) => a === '--public-url' || a.startsWith('--public-url='));
  if (!publicUrlGiven) {
    const scheme = embedded.tls ? 'https' : 'http';
    const host = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(keyserver.host)
      ? 'localhost'
      : keyserver.host;
    keyserver.publicUrl = `${scheme}://${host}:${keyserver.port}`;
  }
  // Discovery (GET /.well-known/sotto) names the TCP listener at the host people reach us by;
  // the WebSocket one (/mqtt next to the public URL) is the key server's default.
  if (keyserver.mqttTcpUrl === null && embedded.mqttPort !== 0) {
    const scheme = embedded.tls ? 'mqtts' : 'mqtt';
    keyserver.mqttTcpUrl = `${scheme}://${new URL(keyserver.publicUrl).hostname}:${embedded.mqttPort}`;
  }
  return { keyserver, embedded, publicUrlDerived: !publicUrlGiven };
}
