/**
 * Resolvers: parse arguments, call a service, map the result. Nothing else lives here.
 */
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { atLeast } from '../auth/permissions.js';
import { InvalidInputError } from '../errors.js';
import { auditPosition, encodeSeqCursor } from '../store/record-cursor.js';
import type { SearchFilter as StoreFilter, SourceKind as StoreSourceKind, TextSource as StoreTextSource } from '../store/knowledge-store.js';
import type { Resolvers, SearchFilter, SourceKind, TextSource } from './__generated__/resolvers-types.js';
import { readUpload, readUploads } from './upload.js';

const toEmbedding = (e: { vector: Float32Array; model: string }) => ({ vector: Array.from(e.vector), model: e.model, dim: e.vector.length });


const toSourceKind = (kind: string) => kind.toUpperCase() as SourceKind;
const TEXT_SOURCES: Record<StoreTextSource, TextSource> = { file: 'FILE', ocr: 'OCR', none: 'NONE' };

function toStoreFilter(filter: SearchFilter | null | undefined): StoreFilter | undefined {
  if (!filter) return undefined;
  return {
    ...(filter.documentIds ? { documentIds: filter.documentIds } : {}),
    ...(filter.kinds ? { kinds: filter.kinds.map((k) => k.toLowerCase() as StoreSourceKind) } : {}),
    ...(filter.metadata ? { metadata: filter.metadata } : {}),
  };
}

const MAX_PAGE_SIZE = 100;

export const resolvers: Resolvers = {
  Upload: GraphQLUpload,
  JSON: GraphQLJSONObject,
  DateTime: GraphQLDateTime,
  Query: {
    health: (_parent, _args, { services }) => services.health.report(),
    embedText: async (_parent, { texts }, { services, signal }) => (await services.embeddings.embedTexts(texts, signal)).map(toEmbedding),
    embedImage: async (_parent, { image }, { services, limits, signal }) => {
      const file = await readUpload(image, limits.maxUploadBytes, signal);
      return toEmbedding(await services.embeddings.embedImage(file.bytes, signal));
    },
    embedImages: async (_parent, { images }, { services, limits, signal }) => {
      services.embeddings.checkImageCount(images.length);
      const files = await readUploads(images, { maxBytesEach: limits.maxUploadBytes, maxBytesTotal: limits.maxImagesBytes }, signal);
      return (await services.embeddings.embedImages(files.map((f) => f.bytes), signal)).map(toEmbedding);
    },
    readText: async (_parent, { image }, { services, limits, signal }) => services.reading.readText((await readUpload(image, limits.maxUploadBytes, signal)).bytes, signal),
    search: async (_parent, { text, image, filter, limit }, { services, limits, signal }) => {
      const file = image ? await readUpload(image, limits.maxUploadBytes, signal) : null;
      return services.search.search({ text: text ?? null, image: file?.bytes ?? null, filter: toStoreFilter(filter), limit: limit ?? 10, signal });
    },
    ask: async (_parent, { question, image, filter }, { services, limits, signal }) => {
      const file = image ? await readUpload(image, limits.maxUploadBytes, signal) : null;
      return services.answers.ask({ question: question ?? null, image: file?.bytes ?? null, filter: toStoreFilter(filter), signal });
    },
    caption: async (_parent, { image }, { services, limits, signal }) => services.answers.caption((await readUpload(image, limits.maxUploadBytes, signal)).bytes, signal),
    identifyPart: async (_parent, { image, candidates, limit }, { services, limits, signal }) =>
      services.identify.identifyPart({ image: (await readUpload(image, limits.maxUploadBytes, signal)).bytes, candidates: candidates ?? null, limit: limit ?? 5, signal }),
    tagImage: async (_parent, { image, labels, threshold }, { services, limits, signal }) =>
      services.identify.tagImage({ image: (await readUpload(image, limits.maxUploadBytes, signal)).bytes, labels, threshold: threshold ?? null, signal }),
    similarPhotos: async (_parent, { image, limit, threshold }, { services, limits, signal }) =>
      services.identify.similarPhotos({ image: (await readUpload(image, limits.maxUploadBytes, signal)).bytes, limit: limit ?? 10, threshold: threshold ?? null, signal }),
    reviewQueue: async (_parent, { first, after, status }, { services }) => {
      const page = await services.identify.reviewQueue({ first: first ?? null, after: after ?? null, status: status ?? null });
      return {
        nodes: page.items,
        edges: page.items.map((node, i) => ({ cursor: page.cursors[i]!, node })),
        pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
        totalCount: page.totalCount,
      };
    },
    me: (_parent, _args, { principal }) => principal,
    auditLog: async (_parent, { first, after, keyName, operation }, { services }) => {
      const size = first ?? 50;
      if (size < 1 || size > 500) throw new InvalidInputError('INVALID_LIMIT', `first must be between 1 and 500; got ${size}.`);
      const page = await services.audit.list({ first: size, after: after ? auditPosition(after) : null, keyName: keyName ?? null, operation: operation ?? null });
      const last = page.items.at(-1);
      return { nodes: page.items, pageInfo: { endCursor: last ? encodeSeqCursor('audit', last.seq) : null, hasNextPage: page.hasNextPage } };
    },
    document: (_parent, { id }, { services }) => services.store.getDocument(id),
    photo: (_parent, { id }, { services }) => services.store.getPhoto(id),
    documents: async (_parent, { first, after }, { services }) => {
      const size = first ?? 20;
      if (size < 1 || size > MAX_PAGE_SIZE) throw new InvalidInputError('INVALID_LIMIT', `first must be between 1 and ${MAX_PAGE_SIZE}; got ${size}.`);
      const page = await services.store.listDocuments({ first: size, after: after ?? null });
      return {
        nodes: page.items,
        edges: page.items.map((node, i) => ({ cursor: page.cursors[i]!, node })),
        pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
        totalCount: page.totalCount,
      };
    },
  },
  Mutation: {
    ingestDocument: async (_parent, { file, input }, { services, limits, logger, signal }) => {
      const upload = await readUpload(file, limits.maxDocumentBytes, signal);
      const { document, created } = await services.ingest.ingestDocument({ bytes: upload.bytes, filename: upload.filename, title: input?.title ?? null, metadata: input?.metadata ?? null, signal });
      logger.info({ documentId: document.id, created, pages: document.pageCount }, created ? 'document ingested' : 'document already present');
      return { ...document, wasDuplicate: !created };
    },
    ingestPhoto: async (_parent, { file, input }, { services, limits, logger, signal }) => {
      const upload = await readUpload(file, limits.maxUploadBytes, signal);
      const { photo, created } = await services.ingest.ingestPhoto({ bytes: upload.bytes, filename: upload.filename, caption: input?.caption ?? null, metadata: input?.metadata ?? null, signal });
      logger.info({ photoId: photo.id, created }, created ? 'photo ingested' : 'photo already present');
      return { ...photo, wasDuplicate: !created };
    },
    confirmPart: (_parent, { photoId, identificationId, label }, { services, actor }) =>
      services.identify.confirmPart({ photoId: photoId ?? null, identificationId: identificationId ?? null, label, givenBy: actor }),
    undoFeedback: (_parent, { id }, { services, principal }) =>
      // Technicians may withdraw their own confirmations; agents and admins anyone's.
      services.identify.undoFeedback(id, atLeast(principal.role, 'agent') ? null : principal.keyName),
    claimReview: (_parent, { id }, { services, actor }) => services.identify.claimReview(id, actor),
    resolveReview: (_parent, { id, label, note }, { services, actor }) => services.identify.resolveReview({ id, label: label ?? null, note: note ?? null, by: actor }),
    deleteDocument: (_parent, { id }, { services }) => services.ingest.deleteDocument(id),
    deletePhoto: (_parent, { id }, { services }) => services.ingest.deletePhoto(id),
  },
  Subscription: {
    askStream: {
      subscribe: async function* (_parent, { question, filter }, { services, signal }) {
        for await (const event of services.answers.askStream({ question, filter: toStoreFilter(filter), signal })) {
          yield { askStream: event.kind === 'delta' ? { text: event.text } : event.answer };
        }
      },
    },
  },
  AskEvent: {
    __resolveType: (event) => ('mode' in event ? 'Answer' : 'AnswerDelta'),
  },
  Document: {
    kind: (doc) => toSourceKind(doc.kind),
    pages: (doc, _args, { services }) => services.store.getPages(doc.id),
    url: (doc, _args, { fileUrl }) => fileUrl(doc.blobKey),
    wasDuplicate: (doc) => doc.wasDuplicate ?? false,
  },
  Page: {
    text: (page) => page.text,
    thumbnailUrl: (page, _args, { fileUrl }) => (page.thumbnailKey ? fileUrl(page.thumbnailKey) : null),
    textSource: (page) => TEXT_SOURCES[page.textSource],
  },
  Photo: {
    url: (photo, _args, { fileUrl }) => fileUrl(photo.blobKey),
    wasDuplicate: (photo) => photo.wasDuplicate ?? false,
    duplicateOf: (photo, _args, { services }) => services.identify.duplicateOf(photo.id),
  },
  PartIdentification: {
    reviewItem: (identification, _args, { services }) => (identification.reviewItemId ? services.identify.reviewItem(identification.reviewItemId) : null),
  },
  Feedback: {
    photo: (feedback, _args, { services }) => (feedback.photoId ? services.store.getPhoto(feedback.photoId) : null),
  },
  ReviewItem: {
    identification: async (item, _args, { services }) => {
      const record = item.identificationId ? await services.identify.getIdentification(item.identificationId) : null;
      // What was read is not stored with an identification: the review item's reason says it.
      return record ? { id: record.id, confident: record.confident, reviewItemId: item.id, readText: null, candidates: record.candidates.map((c) => ({ ...c, pages: [], confirmations: 0, readIdentifiers: [] })) } : null;
    },
    photo: (item, _args, { services }) => (item.photoId ? services.store.getPhoto(item.photoId) : null),
    label: (item) => item.resolutionLabel,
    note: (item) => item.resolutionNote,
  },
};
