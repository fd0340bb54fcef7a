import type { CodegenConfig } from '@graphql-codegen/cli';

// Resolver types generated from schema/*.graphql: `npm run codegen` (CI checks they are current).
const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'src/graphql/__generated__/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: false,
        contextType: '../context.js#GraphQLContext',
        scalars: { Upload: '../upload.js#UploadPromise', JSON: 'Record<string, unknown>', DateTime: 'string' },
        useTypeImports: true,
        enumsAsTypes: true,
        mappers: {
          Document: '../models.js#DocumentModel',
          Page: '../../store/knowledge-store.js#PageRecord',
          Photo: '../models.js#PhotoModel',
          SearchHit: '../../search/search-service.js#SearchHitView',
          SearchResult: '../../search/search-service.js#SearchResultView',
          Answer: '../../answer/answer-service.js#AnswerView',
          Citation: '../../answer/answer-service.js#CitationView',
          Caption: '../../answer/answer-service.js#CaptionView',
          AnswerDelta: '../../answer/answer-service.js#AnswerDeltaView',
          PartIdentification: '../../identify/identify-service.js#PartIdentificationView',
          PartCandidate: '../../identify/identify-service.js#PartCandidateView',
          Feedback: '../../identify/identify-store.js#FeedbackRecord',
          ReviewItem: '../../identify/identify-store.js#ReviewItemRecord',
          AuditEntry: '../../audit/audit-store.js#AuditEntryRecord',
        },
      },
    },
  },
  hooks: { afterAllFileWrite: [] },
};

export default config;
