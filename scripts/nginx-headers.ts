/**
 * Write `deploy/nginx-headers.conf` from the one definition of the web client's security
 * headers (scripts/web-headers.ts). Run after changing that module:
 * `npx tsx scripts/nginx-headers.ts`; test/embedded/headers.test.ts fails until you do.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './web-assets.ts';
import { nginxHeaderSnippet } from './web-headers.ts';

/** Where nginx.conf includes the snippet from (copied to /etc/nginx by Dockerfile.web). */
export const NGINX_HEADERS_FILE = join(REPO_ROOT, 'deploy', 'nginx-headers.conf');

if (process.argv[1] === import.meta.filename) {
  writeFileSync(NGINX_HEADERS_FILE, nginxHeaderSnippet());
  console.log(`wrote ${NGINX_HEADERS_FILE}`);
}
