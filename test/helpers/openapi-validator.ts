/**
 * A validator for the OpenAPI 3.0 subset Qdrant's schema uses ($ref, type, nullable, enum,
 * format, properties/required/additionalProperties, items, anyOf/oneOf/allOf, minimum/maximum,
 * minItems, minLength, uniqueItems), to check every request the Qdrant adapter sends against
 * `test/fixtures/reference/qdrant/openapi-v1.19.json.gz` and every answer the fake server gives.
 *
 * Two readings that matter:
 * - `{ "nullable": true }` alone (Qdrant's generator writes `anyOf: [{$ref: X}, {nullable: true}]`
 *   for optional fields) means "null", not "anything"; read literally it would make every
 *   optional field accept any value.
 * - `strict` (used for requests): an object schema that lists `properties` and says nothing about
 *   `additionalProperties` rejects properties it does not list. OpenAPI allows them, but Qdrant
 *   either rejects or silently ignores them, and a misspelt field silently ignored is exactly
 *   the bug this check exists to catch.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export type JsonSchema = Record<string, unknown>;

interface Operation {
  operationId: string;
  method: string;
  template: string;
  parameters: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { schema: JsonSchema; required: boolean };
  okResponse?: JsonSchema;
}

export interface MatchedOperation {
  operation: Operation;
  pathParams: Record<string, string>;
}

const ANNOTATIONS = new Set(['description', 'default', 'deprecated', 'example', 'title', 'nullable', 'format']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BRANCH_REPORT = 3;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export class OpenApiValidator {
  private readonly spec: Record<string, unknown>;
  private readonly operations: Operation[] = [];

  constructor(file: string) {
    const bytes = readFileSync(file);
    this.spec = JSON.parse((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')) as Record<string, unknown>;
    const paths = this.spec.paths as Record<string, Record<string, unknown>>;
    for (const [template, item] of Object.entries(paths)) {
      const shared = (item.parameters as Operation['parameters'] | undefined) ?? [];
      for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
        const op = item[method] as Record<string, unknown> | undefined;
        if (!op) continue;
        const body = op.requestBody as { content?: Record<string, { schema: JsonSchema }>; required?: boolean } | undefined;
        const ok = (op.responses as Record<string, { content?: Record<string, { schema: JsonSchema }> }> | undefined)?.['200'];
        this.operations.push({
          operationId: String(op.operationId),
          method: method.toUpperCase(),
          template,
          parameters: [...shared, ...((op.parameters as Operation['parameters'] | undefined) ?? [])],
          requestBody: body?.content?.['application/json'] ? { schema: body.content['application/json'].schema, required: body.required === true } : undefined,
          okResponse: ok?.content?.['application/json']?.schema,
        });
      }
    }
  }

  get version(): string {
    return String((this.spec.info as { version?: unknown } | undefined)?.version ?? '?');
  }

  /** The operation a method and path belong to; literal segments win over parameters ("/collections/aliases"). */
  match(method: string, pathname: string): MatchedOperation | { error: string } {
    const segments = pathname.split('/').filter((s) => s.length > 0);
    let best: { op: Operation; params: Record<string, string>; literals: number } | null = null;
    let pathKnown = false;
    for (const op of this.operations) {
      const parts = op.template.split('/').filter((s) => s.length > 0);
      if (parts.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const part = parts[i]!;
        const seg = decodeURIComponent(segments[i]!);
        if (part.startsWith('{') && part.endsWith('}')) params[part.slice(1, -1)] = seg;
        else if (part === seg) literals++;
        else ok = false;
      }
      if (!ok) continue;
      pathKnown = true;
      if (op.method !== method.toUpperCase()) continue;
      if (!best || literals > best.literals) best = { op, params, literals };
    }
    if (!best) return { error: pathKnown ? `method ${method} is not defined for ${pathname}` : `no path of the schema matches ${pathname}` };
    // A parameterised path that also matches a literal path of another method is still the literal one's.
    return { operation: best.op, pathParams: best.params };
  }

  /** Errors of a request: path and query parameters, and the JSON body. */
  validateRequest(matched: MatchedOperation, query: URLSearchParams, body: unknown, hasBody: boolean): string[] {
    const errors: string[] = [];
    const op = matched.operation;
    for (const p of op.parameters.filter((p) => p.in === 'path')) {
      if (matched.pathParams[p.name] === undefined || matched.pathParams[p.name] === '') errors.push(`path parameter ${p.name} is missing`);
    }
    const known = new Map(op.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]));
    for (const [name, raw] of query) {
      const param = known.get(name);
      if (!param) {
        errors.push(`query parameter "${name}" is not defined for ${op.operationId}`);
        continue;
      }
      if (param.schema) errors.push(...this.validate(param.schema, this.coerceQuery(param.schema, raw), `query.${name}`, true));
    }
    for (const [name, param] of known) if (param.required && !query.has(name)) errors.push(`query parameter "${name}" is required`);
    if (op.requestBody) {
      if (!hasBody) {
        if (op.requestBody.required) errors.push('a JSON body is required');
      } else {
        errors.push(...this.validate(op.requestBody.schema, body, 'body', true));
      }
    } else if (hasBody) {
      errors.push(`${op.operationId} takes no body`);
    }
    return errors;
  }

  validateResponse(matched: MatchedOperation, body: unknown): string[] {
    const schema = matched.operation.okResponse;
    return schema ? this.validate(schema, body, 'response', false) : [];
  }

  /** Errors of `value` against `schema` (a schema of this spec, or a `$ref` into it). */
  validate(schema: JsonSchema, value: unknown, at: string, strict: boolean): string[] {
    const s = this.resolve(schema);
    const keys = Object.keys(s).filter((k) => !ANNOTATIONS.has(k));
    if (value === null) {
      if (s.nullable === true) return [];
      if (keys.length === 0) return [];
    }
    if (keys.length === 0 && s.nullable === true) return value === null ? [] : [`${at}: must be null, got ${typeName(value)}`];

    const errors: string[] = [];
    if (Array.isArray(s.allOf)) for (const sub of s.allOf as JsonSchema[]) errors.push(...this.validate(sub, value, at, strict));
    if (Array.isArray(s.anyOf)) {
      const branches = (s.anyOf as JsonSchema[]).map((sub) => this.validate(sub, value, at, strict));
      if (!branches.some((b) => b.length === 0)) errors.push(this.noBranch('anyOf', at, value, branches));
    }
    if (Array.isArray(s.oneOf)) {
      const branches = (s.oneOf as JsonSchema[]).map((sub) => this.validate(sub, value, at, strict));
      const passing = branches.filter((b) => b.length === 0).length;
      if (passing === 0) errors.push(this.noBranch('oneOf', at, value, branches));
      else if (passing > 1) errors.push(`${at}: matches ${passing} branches of oneOf, must match exactly one`);
    }
    if (errors.length > 0) return errors;

    if (value === null && s.type !== undefined) return [`${at}: must be ${String(s.type)}, got null`];
    if (s.type !== undefined && !this.hasType(s.type as string, value)) return [`${at}: must be ${String(s.type)}, got ${typeName(value)}`];
    if (Array.isArray(s.enum) && !s.enum.some((e) => e === value)) return [`${at}: must be one of ${JSON.stringify(s.enum)}, got ${JSON.stringify(value)}`];

    if (typeof value === 'number') {
      if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${at}: must be ≥ ${s.minimum}, got ${value}`);
      if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${at}: must be ≤ ${s.maximum}, got ${value}`);
      const format = s.format as string | undefined;
      if (format?.startsWith('uint') && value < 0) errors.push(`${at}: must be unsigned (${format}), got ${value}`);
      if (format === 'uint8' && value > 255) errors.push(`${at}: out of range for uint8`);
      if (format === 'uint32' && value > 0xffffffff) errors.push(`${at}: out of range for uint32`);
      if ((format === 'float' || format === 'double') && !Number.isFinite(value)) errors.push(`${at}: must be finite`);
    }
    if (typeof value === 'string') {
      if (typeof s.minLength === 'number' && value.length < s.minLength) errors.push(`${at}: shorter than ${s.minLength}`);
      if (s.format === 'uuid' && !UUID.test(value)) errors.push(`${at}: must be a UUID, got ${JSON.stringify(value)}`);
    }
    if (Array.isArray(value)) {
      if (typeof s.minItems === 'number' && value.length < s.minItems) errors.push(`${at}: needs at least ${s.minItems} items`);
      if (s.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) errors.push(`${at}: items must be unique`);
      if (isObject(s.items)) value.forEach((item, i) => errors.push(...this.validate(s.items as JsonSchema, item, `${at}[${i}]`, strict)));
    }
    if (isObject(value) && (s.type === 'object' || s.properties !== undefined || s.additionalProperties !== undefined)) {
      const properties = (s.properties as Record<string, JsonSchema> | undefined) ?? {};
      for (const name of (s.required as string[] | undefined) ?? []) if (!(name in value)) errors.push(`${at}: missing required property "${name}"`);
      for (const [name, v] of Object.entries(value)) {
        if (properties[name]) errors.push(...this.validate(properties[name], v, `${at}.${name}`, strict));
        else if (s.additionalProperties === false) errors.push(`${at}: property "${name}" is not allowed`);
        else if (isObject(s.additionalProperties)) errors.push(...this.validate(s.additionalProperties as JsonSchema, v, `${at}.${name}`, strict));
        else if (s.additionalProperties === undefined && strict && s.properties !== undefined) errors.push(`${at}: unknown property "${name}"`);
      }
    }
    return errors;
  }

  private noBranch(kind: string, at: string, value: unknown, branches: string[][]): string {
    // The branches that got furthest (fewest errors) say most about what was meant.
    const ranked = [...branches].sort((a, b) => a.length - b.length).slice(0, MAX_BRANCH_REPORT);
    return `${at}: ${JSON.stringify(value)?.slice(0, 120)} matches no branch of ${kind} (${ranked.map((b) => b.slice(0, 2).join('; ')).join(' | ')})`;
  }

  private hasType(type: string, value: unknown): boolean {
    switch (type) {
      case 'object':
        return isObject(value);
      case 'array':
        return Array.isArray(value);
      case 'string':
        return typeof value === 'string';
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value);
      case 'number':
        return typeof value === 'number' && Number.isFinite(value);
      case 'boolean':
        return typeof value === 'boolean';
      default:
        return true;
    }
  }

  private coerceQuery(schema: JsonSchema, raw: string): unknown {
    const s = this.resolve(schema);
    const types = [s.type, ...((s.anyOf as JsonSchema[] | undefined) ?? []).map((b) => this.resolve(b).type)];
    if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
    if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
    return raw;
  }

  private resolve(schema: JsonSchema): JsonSchema {
    let s = schema;
    for (let depth = 0; typeof s.$ref === 'string'; depth++) {
      if (depth > 20) throw new Error(`$ref loop at ${String(s.$ref)}`);
      const ref = s.$ref;
      if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref} is not supported`);
      let node: unknown = this.spec;
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (!isObject(node)) throw new Error(`unresolved $ref ${ref}`);
      s = node;
    }
    return s;
  }

  /** A named component schema, for tests. */
  component(name: string): JsonSchema {
    return { $ref: `#/components/schemas/${name}` };
  }
}
