/**
 * The one front door of a local cluster (`npm run cluster`): Debian's nginx run as an ordinary
 * user with a configuration generated from `deploy/nginx.conf` — the file docker-compose's
 * front uses — so both serve the same routes (web client, `/v1`, `/mqtt`, MQTT over TCP).
 * Only what differs on one machine is rewritten: upstream addresses, listen addresses, the web
 * client's folder, the headers snippet's path, and pid, log and temp paths inside the cluster's
 * data dir (no root needed). Each rewrite must find its line: a changed `deploy/nginx.conf`
 * fails here loudly instead of yielding a front that silently differs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NGINX_HEADERS_FILE } from './nginx-headers.ts';
import { REPO_ROOT } from './web-assets.ts';

/** The compose front's configuration, the template of the local one. */
export const NGINX_TEMPLATE = join(REPO_ROOT, 'deploy', 'nginx.conf');

/** Debian's dynamic stream module (package `libnginx-mod-stream`): MQTT over TCP. */
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** nginx is not installed: the message says how to get it. */
export class NginxMissingError extends Error {
  constructor() {
    super(
      'nginx is not installed, and `npm run cluster` serves the web client through it ' +
        '(deploy/nginx.conf). Install it with `sudo apt-get install nginx libnginx-mod-stream` ' +
        '(.ci/run does), or run without the front: `npm run cluster -- --no-front`.',
    );
    this.name = 'NginxMissingError';
  }
}

/**
 * Path of the nginx binary, or `null`: `SOTTO_NGINX` when set (a binary elsewhere), else the
 * PATH, then /usr/sbin (not on an ordinary user's PATH on Debian).
 */
export function findNginx(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.SOTTO_NGINX) return existsSync(env.SOTTO_NGINX) ? env.SOTTO_NGINX : null;
  for (const dir of [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']) {
    if (!dir) continue;
    const candidate = join(dir, 'nginx');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** What {@link nginxConfig} fills in. */
export interface FrontConfig {
  /** Where the pid file and temp folders go (`{dir}/nginx`) and the logs (`{dir}/logs`). */
  dir: string;
  host: string;
  /** HTTP port of the front (web client, `/v1`, `/mqtt`). */
  port: number;
  /** MQTT over TCP on the front; `null` leaves the stream block out. */
  mqttPort: number | null;
  keyserverPorts: number[];
  brokerWsPorts: number[];
  brokerMqttPorts: number[];
  /** The built web client (`web-client/dist`). */
  webRoot: string;
  /** The stream module to load (`null`: built in, or no stream block). */
  streamModule: string | null;
}

function rewrite(text: string, pattern: RegExp, replacement: string, what: string): string {
  if (!pattern.test(text))
    throw new Error(`${NGINX_TEMPLATE} changed: cannot find ${what} (scripts/cluster-front.ts)`);
  pattern.lastIndex = 0;
  return text.replace(pattern, replacement);
}

/** Replace the `server name:port …;` lines of one upstream with one line per local port. */
function upstream(text: string, name: string, port: number, ports: number[], host: string) {
  const line = new RegExp(`^(\\s*)server ${name}\\d+:${port}([^;]*);\\n`, 'gm');
  const first = line.exec(text);
  if (!first)
    throw new Error(`${NGINX_TEMPLATE} changed: no upstream ${name}N:${port} (cluster-front.ts)`);
  const [, indent = '', params = ''] = first;
  const lines = ports.map((p) => `${indent}server ${host}:${p}${params};\n`).join('');
  let done = false;
  return text.replace(line, () => {
    if (done) return '';
    done = true;
    return lines;
  });
}

/** The local front's nginx.conf, from `template` (the text of `deploy/nginx.conf`). */
export function nginxConfig(template: string, c: FrontConfig): string {
  const temp = join(c.dir, 'nginx');
  let t = template;
  t = rewrite(
    t,
    /^worker_processes [^;]+;$/m,
    [
      ...(c.streamModule && c.mqttPort !== null ? [`load_module ${c.streamModule};`] : []),
      // One worker: a local front on a shared machine; pid and logs in the cluster's folder.
      'worker_processes 1;',
      `pid ${join(temp, 'nginx.pid')};`,
      `error_log ${join(c.dir, 'logs', 'nginx-error.log')} warn;`,
    ].join('\n'),
    'worker_processes',
  );
  t = rewrite(
    t,
    /^http \{$/m,
    [
      'http {',
      `  access_log ${join(c.dir, 'logs', 'nginx-access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (k) => `  ${k}_temp_path ${join(temp, `${k}_temp`)};`,
      ),
    ].join('\n'),
    'the http block',
  );
  t = upstream(t, 'keyserver', 8080, c.keyserverPorts, c.host);
  t = upstream(t, 'broker', 8083, c.brokerWsPorts, c.host);
  t = rewrite(t, /^(\s*)listen 80;$/m, `$1listen ${c.host}:${c.port};`, 'listen 80');
  t = rewrite(t, /^(\s*)root [^;]+;$/m, `$1root ${c.webRoot};`, 'root');
  t = rewrite(
    t,
    /include \/etc\/nginx\/nginx-headers\.conf;/g,
    `include ${NGINX_HEADERS_FILE};`,
    'the headers include',
  );
  if (c.mqttPort === null) {
    t = rewrite(t, /\nstream \{[\s\S]*$/, '\n', 'the stream block');
  } else {
    t = upstream(t, 'broker', 1883, c.brokerMqttPorts, c.host);
    t = rewrite(t, /^(\s*)listen 1883;$/m, `$1listen ${c.host}:${c.mqttPort};`, 'listen 1883');
  }
  return `# Generated by scripts/cluster-front.ts from deploy/nginx.conf for \`npm run cluster\`; do not edit.\n${t}`;
}

/** Read the template and build the local configuration. */
export function localNginxConfig(c: FrontConfig): string {
  return nginxConfig(readFileSync(NGINX_TEMPLATE, 'utf8'), c);
}
