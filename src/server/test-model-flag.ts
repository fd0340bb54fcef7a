/**
 * Every GraphQL response says whether it was computed on the bundled test model (random weights):
 * `extensions.testModel` (true or false) on every HTTP response and every graphql-ws `next`
 * message. An extension rather than a field in each payload type so that no operation (search,
 * ask, caption, identify, and any added later) can forget it, and clients read it in one place.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

export function testModelPlugin<TContext extends BaseContext>(testModel: boolean): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          result.extensions = { ...result.extensions, testModel };
        },
      };
    },
  };
}

/** The same flag on a graphql-ws execution result (askStream events). */
export function withTestModelFlag<T extends { extensions?: Record<string, unknown> | undefined }>(result: T, testModel: boolean): T {
  return { ...result, extensions: { ...result.extensions, testModel } };
}
