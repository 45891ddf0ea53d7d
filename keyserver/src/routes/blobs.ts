/**
 * Encrypted attachment blobs (DESIGN.md §3 "Attachments", §4.1). Uploads are
 * streamed to a temporary file while hashed (SHA-256), so memory stays flat
 * whatever the size; the hash is the blob id (content addressing), the size
 * cap is enforced while streaming. Downloads support single byte ranges.
 * Only the uploader may delete. Metadata (owner, size) lives in the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { ApiError, apiError } from '../errors.ts';
import { bearer, errors } from '../schemas.ts';

const blobId = {
  type: 'string',
  pattern: '^[0-9a-f]{64}$',
  description: 'hex SHA-256 of the ciphertext',
} as const;
const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: blobId },
} as const;

/** Parse one `bytes=` range against `size`; null = serve everything, 'bad' = 416. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return header.includes(',') ? null : 'bad'; // multiple ranges: ignored (RFC 9110 allows it)
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return 'bad';
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'bad';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size)
    return 'bad';
  return { start, end };
}

/** Register `/v1/blobs*`. */
export function blobRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store, config, metrics } = ctx;
  const dir = ctx.blobDir;
  const tmpDir = join(dir, 'tmp');
  const pathOf = (id: string) => join(dir, id.slice(0, 2), id);

  // Blob bodies stay streams: the route reads them itself, under its own cap.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) =>
    done(null, payload),
  );

  app.post(
    '/v1/blobs',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['blobs'],
        summary: 'Upload an encrypted attachment (application/octet-stream, streamed)',
        description: `Body: raw ciphertext bytes. Larger than the cap (default 100 MiB) → 413 BLOB_TOO_LARGE. The id is the hex SHA-256 of the bytes; uploading the same bytes again returns the same id.`,
        security: bearer,
        consumes: ['application/octet-stream'],
        response: {
          201: {
            type: 'object',
            required: ['id', 'size'],
            additionalProperties: false,
            properties: { id: blobId, size: { type: 'integer' } },
          },
          ...errors(400, 401, 413, 415),
        },
      },
    },
    async (req, reply) => {
      const owner = claims(req).sub;
      const body = req.body as Readable | undefined;
      if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') {
        throw apiError('UNSUPPORTED_MEDIA_TYPE', 'send the blob as application/octet-stream');
      }
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > config.blobMaxBytes) {
        body.resume();
        throw apiError('BLOB_TOO_LARGE');
      }
      await mkdir(tmpDir, { recursive: true });
      const tmp = join(tmpDir, randomBytes(16).toString('hex'));
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > config.blobMaxBytes) {
            cb(apiError('BLOB_TOO_LARGE'));
            return;
          }
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      try {
        await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      } catch (err) {
        await rm(tmp, { force: true });
        if (err instanceof ApiError) {
          body.resume();
          throw err;
        }
        throw apiError('VALIDATION_FAILED', 'upload was interrupted', err);
      }
      const id = hash.digest('hex');
      metrics.blobBytes.inc({ direction: 'in' }, size);
      const created = await store.putBlob({ id, owner, size, createdAt: ctx.now() });
      if (created) {
        await mkdir(join(dir, id.slice(0, 2)), { recursive: true });
        await rename(tmp, pathOf(id));
      } else {
        await rm(tmp, { force: true });
      }
      return reply.code(201).send({ id, size });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/blobs/:id',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['blobs'],
        summary: 'Download a blob; supports a single `Range: bytes=…`',
        security: bearer,
        params: idParams,
        response: {
          200: {
            description: 'the whole blob',
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          },
          206: {
            description: 'the requested range',
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          },
          ...errors(400, 401, 404, 416),
        },
      },
    },
    async (req, reply) => {
      const meta = await store.getBlob(req.params.id);
      if (!meta) throw apiError('BLOB_NOT_FOUND');
      const file = pathOf(meta.id);
      const size = await stat(file).then(
        (s) => s.size,
        () => null,
      );
      if (size === null) throw apiError('BLOB_NOT_FOUND');
      const range = parseRange(req.headers.range, size);
      reply.header('accept-ranges', 'bytes').type('application/octet-stream');
      if (range === 'bad') {
        reply.header('content-range', `bytes */${size}`);
        throw apiError('RANGE_NOT_SATISFIABLE');
      }
      if (range === null) {
        metrics.blobBytes.inc({ direction: 'out' }, size);
        reply.header('content-length', size);
        return reply.code(200).send(createReadStream(file));
      }
      const length = range.end - range.start + 1;
      metrics.blobBytes.inc({ direction: 'out' }, length);
      reply
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', length);
      return reply.code(206).send(createReadStream(file, { start: range.start, end: range.end }));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/blobs/:id',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['blobs'],
        summary: 'Delete a blob (uploader only)',
        security: bearer,
        params: idParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const meta = await store.getBlob(req.params.id);
      if (!meta) throw apiError('BLOB_NOT_FOUND');
      if (meta.owner !== claims(req).sub)
        throw apiError('FORBIDDEN', 'only the uploader may delete a blob');
      await store.deleteBlob(meta.id);
      await rm(pathOf(meta.id), { force: true });
      return reply.code(204).send();
    },
  );
}
