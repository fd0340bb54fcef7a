/**
 * Example operations for the developer explorer, built from the server's own schema at start-up
 * (pure: schema in, operations out). The page gets them inside its HTML, so it needs no
 * introspection query and works the same with NODE_ENV=production, where introspection is off.
 * graphql is imported as `graphql/index.js`: the build the schema's own code loads (under vitest a
 * bare `graphql` import can load a second copy, and its instanceof checks then fail).
 */
import {
  getNamedType,
  isEnumType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  printSchema,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLType,
  type GraphQLSchema,
} from 'graphql/index.js';

export interface ExplorerArgument {
  name: string;
  /** The argument's type as written in SDL, e.g. `[String!]!`. */
  type: string;
  /** True for Upload arguments: the page sends them as files (multipart request). */
  isUpload: boolean;
  description: string | null;
}

export interface ExplorerOperation {
  kind: 'query' | 'mutation' | 'subscription';
  field: string;
  description: string | null;
  args: ExplorerArgument[];
  /** A complete, valid operation selecting the field's scalar fields a few levels deep. */
  document: string;
  /** Variables to start from: one example per argument (files are chosen on the page). */
  variables: Record<string, unknown>;
}

/** How many object levels below the root field a generated selection goes. */
const MAX_LEVELS = 3;

function typeString(type: GraphQLType): string {
  if (isNonNullType(type)) return `${typeString(type.ofType)}!`;
  if (isListType(type)) return `[${typeString(type.ofType)}]`;
  return type.name;
}

function exampleValue(type: GraphQLInputType): unknown {
  const required = isNonNullType(type);
  const inner = isNonNullType(type) ? type.ofType : type;
  const named = getNamedType(inner);
  if (named.name === 'Upload') return null;
  if (!required) return undefined;
  if (isListType(inner)) {
    const item = exampleValue(inner.ofType as GraphQLInputType);
    return item === undefined ? [] : [item];
  }
  if (isEnumType(named)) return named.getValues()[0]?.name ?? null;
  switch (named.name) {
    case 'String':
      return 'pump seal';
    case 'ID':
      return 'paste-an-id-here';
    case 'Int':
      return 5;
    case 'Float':
      return 0.5;
    case 'Boolean':
      return true;
    default:
      return isScalarType(named) ? null : {};
  }
}

/** The selection set of a type (empty string for leaves), skipping types already on the path. */
function selection(type: GraphQLNamedType, schema: GraphQLSchema, level: number, path: ReadonlySet<string>, indent: string): string {
  if (!isObjectType(type) && !isUnionType(type) && !isInterfaceType(type)) return '';
  const inner = `${indent}  `;
  if (isUnionType(type) || isInterfaceType(type)) {
    const members = isUnionType(type) ? type.getTypes() : schema.getPossibleTypes(type);
    const parts = members.map((m) => `${inner}... on ${m.name}${selection(m, schema, level, path, inner)}`);
    return ` {\n${inner}__typename\n${parts.join('\n')}\n${indent}}`;
  }
  const lines = fieldLines(type, schema, level, new Set([...path, type.name]), inner);
  return ` {\n${lines.length > 0 ? lines.join('\n') : `${inner}__typename`}\n${indent}}`;
}

function fieldLines(type: GraphQLObjectType, schema: GraphQLSchema, level: number, path: ReadonlySet<string>, indent: string): string[] {
  const lines: string[] = [];
  for (const field of Object.values(type.getFields())) {
    // A field with a required argument cannot be selected without inventing a value for it.
    if (field.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    const named = getNamedType(field.type);
    if (isScalarType(named) || isEnumType(named)) {
      lines.push(`${indent}${field.name}`);
      continue;
    }
    if (level >= MAX_LEVELS || path.has(named.name)) continue;
    lines.push(`${indent}${field.name}${selection(named, schema, level + 1, path, indent)}`);
  }
  return lines;
}

function operationFor(kind: ExplorerOperation['kind'], field: GraphQLField<unknown, unknown>, schema: GraphQLSchema): ExplorerOperation {
  const args = field.args.map((a) => ({ name: a.name, type: typeString(a.type), isUpload: getNamedType(a.type).name === 'Upload', description: a.description ?? null }));
  const declared = args.length > 0 ? `(${args.map((a) => `$${a.name}: ${a.type}`).join(', ')})` : '';
  const passed = args.length > 0 ? `(${args.map((a) => `${a.name}: $${a.name}`).join(', ')})` : '';
  const name = field.name.charAt(0).toUpperCase() + field.name.slice(1);
  const body = selection(getNamedType(field.type), schema, 1, new Set(), '  ');
  const variables: Record<string, unknown> = {};
  for (const a of field.args) {
    const v = exampleValue(a.type);
    if (v !== undefined) variables[a.name] = v;
  }
  return {
    kind,
    field: field.name,
    description: field.description ?? null,
    args,
    document: `${kind} ${name}${declared} {\n  ${field.name}${passed}${body}\n}\n`,
    variables,
  };
}

/** One example operation per root field of the schema: queries, mutations, then subscriptions. */
export function explorerOperations(schema: GraphQLSchema): ExplorerOperation[] {
  const roots: [ExplorerOperation['kind'], GraphQLObjectType | null | undefined][] = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ];
  return roots.flatMap(([kind, root]) => (root && isObjectType(root) ? Object.values(root.getFields()).map((f) => operationFor(kind, f, schema)) : []));
}

/** JSON for a `<script type="application/json">` block: nothing in it can close the element. */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The explorer page with the operations and the schema's SDL placed where the template says. */
export function renderExplorerPage(template: string, schema: GraphQLSchema): string {
  const data = `<script type="application/json" id="explorer-data">${jsonForHtml({ operations: explorerOperations(schema), sdl: printSchema(schema) })}</script>`;
  if (!template.includes('<!--EXPLORER-DATA-->')) throw new Error('explorer.html lost its <!--EXPLORER-DATA--> marker');
  return template.replace('<!--EXPLORER-DATA-->', () => data);
}
