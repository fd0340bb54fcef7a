import type { UploadPromise } from '../upload.js';
import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { GraphQLContext } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * A file sent with the GraphQL multipart request spec
   * (https://github.com/jaydenseric/graphql-multipart-request-spec), as apollo-upload-client sends it.
   */
  Upload: { input: UploadPromise; output: UploadPromise; }
};

export type Embedding = {
  __typename?: 'Embedding';
  /** Length of vector. */
  dim: Scalars['Int']['output'];
  /** Id of the model that produced the vector (vectors of different models are not comparable). */
  model: Scalars['String']['output'];
  /** L2-normalised: the dot product of two vectors is their cosine similarity. */
  vector: Array<Scalars['Float']['output']>;
};

export type Health = {
  __typename?: 'Health';
  model: ModelInfo;
  /** ok when the model is loaded and every encoder worker is up, degraded otherwise. */
  status: Scalars['String']['output'];
  store: StoreInfo;
};

export type ModelInfo = {
  __typename?: 'ModelInfo';
  /** Embedding size, read from the model graph itself. */
  dim: Scalars['Int']['output'];
  /** Model identifier (manifest name or folder name); stored with every vector. */
  id: Scalars['String']['output'];
  /** True when running the bundled random-weight test model: embeddings are meaningless. */
  isTestModel: Scalars['Boolean']['output'];
};

export type Query = {
  __typename?: 'Query';
  /** CLIP image embedding of one uploaded image (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF). */
  embedImage: Embedding;
  /**
   * CLIP text embeddings, one per input text, in order. Texts longer than the model's
   * 77-token window are truncated (the end token is kept). Limits: EMBED_MAX_TEXTS texts,
   * EMBED_MAX_TEXT_CHARS characters each.
   */
  embedText: Array<Embedding>;
  /** Liveness, model and storage status (the same facts as GET /ready, for GraphQL clients). */
  health: Health;
};


export type QueryEmbedImageArgs = {
  image: Scalars['Upload']['input'];
};


export type QueryEmbedTextArgs = {
  texts: Array<Scalars['String']['input']>;
};

export type StoreInfo = {
  __typename?: 'StoreInfo';
  /** Storage backend: sqlite (embedded default) or qdrant. */
  kind: Scalars['String']['output'];
  /** Where the data lives (a folder for sqlite, a URL for qdrant). */
  location: Scalars['String']['output'];
  /** Whether the store answered its last readiness check. */
  ready: Scalars['Boolean']['output'];
};



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Embedding: ResolverTypeWrapper<Embedding>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  Health: ResolverTypeWrapper<Health>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  ModelInfo: ResolverTypeWrapper<ModelInfo>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  StoreInfo: ResolverTypeWrapper<StoreInfo>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Upload: ResolverTypeWrapper<Scalars['Upload']['output']>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  Boolean: Scalars['Boolean']['output'];
  Embedding: Embedding;
  Float: Scalars['Float']['output'];
  Health: Health;
  Int: Scalars['Int']['output'];
  ModelInfo: ModelInfo;
  Query: Record<PropertyKey, never>;
  StoreInfo: StoreInfo;
  String: Scalars['String']['output'];
  Upload: Scalars['Upload']['output'];
};

export type EmbeddingResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Embedding'] = ResolversParentTypes['Embedding']> = {
  dim?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  vector?: Resolver<Array<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type HealthResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Health'] = ResolversParentTypes['Health']> = {
  model?: Resolver<ResolversTypes['ModelInfo'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  store?: Resolver<ResolversTypes['StoreInfo'], ParentType, ContextType>;
};

export type ModelInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ModelInfo'] = ResolversParentTypes['ModelInfo']> = {
  dim?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  isTestModel?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  embedImage?: Resolver<ResolversTypes['Embedding'], ParentType, ContextType, RequireFields<QueryEmbedImageArgs, 'image'>>;
  embedText?: Resolver<Array<ResolversTypes['Embedding']>, ParentType, ContextType, RequireFields<QueryEmbedTextArgs, 'texts'>>;
  health?: Resolver<ResolversTypes['Health'], ParentType, ContextType>;
};

export type StoreInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StoreInfo'] = ResolversParentTypes['StoreInfo']> = {
  kind?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  location?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  ready?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export interface UploadScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['Upload'], any> {
  name: 'Upload';
}

export type Resolvers<ContextType = GraphQLContext> = {
  Embedding?: EmbeddingResolvers<ContextType>;
  Health?: HealthResolvers<ContextType>;
  ModelInfo?: ModelInfoResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  StoreInfo?: StoreInfoResolvers<ContextType>;
  Upload?: GraphQLScalarType;
};

