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
        scalars: { Upload: '../upload.js#UploadPromise' },
        useTypeImports: true,
        enumsAsTypes: true,
        mappers: {},
      },
    },
  },
  hooks: { afterAllFileWrite: [] },
};

export default config;
