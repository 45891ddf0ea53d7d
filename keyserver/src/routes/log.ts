/**
 * Key-transparency routes (DESIGN.md §5.3): the signed tree head, inclusion
 * proofs for a leaf index, consistency proofs between tree sizes, and raw
 * entries so users can monitor their own bindings.
 */
import type { FastifyInstance } from 'fastify';
import { toBase64 } from '@sotto/crypto';
import type { Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { bearer, errors } from '../schemas.ts';

const size = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** Register `/v1/log/*`. */
export function logRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { keyLog } = ctx;

  app.get(
    '/v1/log/head',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['key transparency'],
        summary: 'The signed tree head of the key log',
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['treeSize', 'root', 'timestamp', 'signature', 'signedTreeHead', 'publicKey'],
            additionalProperties: false,
            properties: {
              treeSize: size,
              root: { type: 'string', description: 'base64url BLAKE2b-256 Merkle root' },
              timestamp: { type: 'integer' },
              signature: { type: 'string', description: 'base64url Ed25519 signature' },
              signedTreeHead: {
                type: 'string',
                description: 'base64url canonical encoding (PROTOCOL.md §10)',
              },
              publicKey: {
                type: 'string',
                description: "base64url of the log's Ed25519 public key",
              },
            },
          },
          ...errors(401),
        },
      },
    },
    async () => {
      const { sth, encoded } = await keyLog.head();
      return {
        treeSize: sth.treeSize,
        root: toBase64(sth.root),
        timestamp: sth.timestamp,
        signature: toBase64(sth.signature),
        signedTreeHead: toBase64(encoded),
        publicKey: toBase64(keyLog.publicKey),
      };
    },
  );

  app.get<{ Querystring: { index: number; treeSize?: number } }>(
    '/v1/log/proof',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['key transparency'],
        summary:
          'Inclusion proof of leaf `index` in the tree of `treeSize` leaves (default: current size)',
        security: bearer,
        querystring: {
          type: 'object',
          required: ['index'],
          additionalProperties: false,
          properties: { index: size, treeSize: size },
        },
        response: {
          200: {
            type: 'object',
            required: ['index', 'treeSize', 'leaf', 'proof'],
            additionalProperties: false,
            properties: {
              index: size,
              treeSize: size,
              leaf: { type: 'string', description: 'base64url leaf data (keyLogLeaf)' },
              proof: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => {
      const treeSize = req.query.treeSize ?? (await keyLog.head()).sth.treeSize;
      const r = await keyLog.inclusion(req.query.index, treeSize);
      if (!r) throw apiError('LOG_ENTRY_NOT_FOUND');
      return {
        index: req.query.index,
        treeSize,
        leaf: toBase64(r.leaf),
        proof: r.proof.map(toBase64),
      };
    },
  );

  app.get<{ Querystring: { from: number; to?: number } }>(
    '/v1/log/consistency',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['key transparency'],
        summary: 'Consistency proof between tree sizes `from` and `to` (default: current size)',
        security: bearer,
        querystring: {
          type: 'object',
          required: ['from'],
          additionalProperties: false,
          properties: { from: size, to: size },
        },
        response: {
          200: {
            type: 'object',
            required: ['from', 'to', 'proof'],
            additionalProperties: false,
            properties: {
              from: size,
              to: size,
              proof: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => {
      const to = req.query.to ?? (await keyLog.head()).sth.treeSize;
      const proof = await keyLog.consistency(req.query.from, to);
      if (!proof) throw apiError('LOG_ENTRY_NOT_FOUND');
      return { from: req.query.from, to, proof: proof.map(toBase64) };
    },
  );

  app.get<{ Querystring: { start: number; end: number } }>(
    '/v1/log/entries',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['key transparency'],
        summary: 'Leaf data of entries [start, end) (at most 1000)',
        security: bearer,
        querystring: {
          type: 'object',
          required: ['start', 'end'],
          additionalProperties: false,
          properties: { start: size, end: size },
        },
        response: {
          200: {
            type: 'object',
            required: ['start', 'entries'],
            additionalProperties: false,
            properties: { start: size, entries: { type: 'array', items: { type: 'string' } } },
          },
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const { start } = req.query;
      const end = Math.min(req.query.end, start + 1000);
      if (end < start) throw apiError('VALIDATION_FAILED', 'end must not be less than start');
      const leaves = await keyLog.entries(start, end);
      return { start, entries: leaves.map(toBase64) };
    },
  );
}
