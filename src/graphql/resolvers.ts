/**
 * Resolvers: parse arguments, call a service, map the result. Nothing else lives here.
 */
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import type { Resolvers } from './__generated__/resolvers-types.js';
import { readUpload } from './upload.js';

const toEmbedding = (e: { vector: Float32Array; model: string }) => ({ vector: Array.from(e.vector), model: e.model, dim: e.vector.length });

export const resolvers: Resolvers = {
  Upload: GraphQLUpload,
  Query: {
    health: (_parent, _args, { services }) => services.health.report(),
    embedText: async (_parent, { texts }, { services }) => (await services.embeddings.embedTexts(texts)).map(toEmbedding),
    embedImage: async (_parent, { image }, { services, limits }) => {
      const file = await readUpload(image, limits.maxUploadBytes);
      return toEmbedding(await services.embeddings.embedImage(file.bytes));
    },
  },
};
