/**
 * A small in-memory Qdrant: enough of collections, payload indexes and points (upsert with
 * update_filter/update_mode, delete, set_payload, retrieve, scroll with order_by, count, query
 * with dense/sparse/prefetch/fusion, query batch, query groups) to run the knowledge-store contract suite.
 * Its answers follow Qdrant's documented behaviour where the store depends on it:
 *
 * - Cosine vectors are normalised on write; dense queries score by dot product with the
 *   normalised query; points without the named vector are not candidates.
 * - Sparse queries score Σ query·point over shared indices, only points sharing an index are
 *   candidates; with `modifier: 'idf'` each query weight is multiplied by
 *   ln(1 + (N − n + 0.5)/(n + 0.5)) over the points that have that sparse vector.
 * - RRF: Σ 1/(k + rank) with k = 2 over the prefetches (Qdrant's default), rank from 1.
 * - order_by needs a payload index with range support on the key (else 400, as Qdrant does).
 * - Wrong vector sizes, unknown vector names, duplicate sparse indices: 400 "Wrong input".
 *
 * It is not a search engine: everything is an exact scan.
 */

type Json = unknown;
type Payload = Record<string, Json>;
type PointId = string | number;
interface Sparse {
  indices: number[];
  values: number[];
}
type StoredVector = number[] | Sparse;

interface StoredPoint {
  id: PointId;
  vectors: Map<string, StoredVector>;
  payload: Payload;
  version: number;
}

interface IndexInfo {
  data_type: string;
  params: Record<string, Json> | null;
}

interface Collection {
  name: string;
  config: { vectors: Record<string, { size: number; distance: string }>; sparse: Record<string, { modifier?: string }>; raw: Record<string, Json> };
  points: Map<string, StoredPoint>;
  indexes: Map<string, IndexInfo>;
  version: number;
}

export class QdrantInputError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Scored {
  point: StoredPoint;
  score: number;
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idKey(id: PointId): string {
  return typeof id === 'number' ? `n:${String(id).padStart(20, '0')}` : `u:${id.toLowerCase()}`;
}

function normalizeId(id: PointId): PointId {
  return typeof id === 'string' ? id.toLowerCase() : id;
}

function isSparse(v: unknown): v is Sparse {
  return isObject(v) && Array.isArray(v.indices) && Array.isArray(v.values);
}

function asArray<T>(v: T | T[] | null | undefined): T[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** Values at a payload path ("a.b", "a[].b"), arrays flattened, as Qdrant reads them for conditions. */
function valuesAt(payload: Payload, key: string): Json[] {
  let current: Json[] = [payload];
  for (const rawPart of key.split('.')) {
    const flatten = rawPart.endsWith('[]');
    const part = flatten ? rawPart.slice(0, -2) : rawPart;
    const next: Json[] = [];
    for (const node of current) {
      if (!isObject(node) || !(part in node)) continue;
      const v = node[part];
      if (Array.isArray(v)) next.push(...v);
      else next.push(v);
    }
    current = next;
  }
  return current.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

function rawAt(payload: Payload, key: string): { found: boolean; value: Json } {
  let node: Json = payload;
  for (const part of key.split('.')) {
    if (!isObject(node) || !(part in node)) return { found: false, value: undefined };
    node = node[part];
  }
  return { found: true, value: node };
}

function cosineNormalize(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm === 0 ? v.slice() : v.map((x) => x / norm);
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export class FakeQdrantEngine {
  readonly collections = new Map<string, Collection>();

  private collection(name: string): Collection {
    const c = this.collections.get(name);
    if (!c) throw new QdrantInputError(`Not found: Collection \`${name}\` doesn't exist!`, 404);
    return c;
  }

  // ---- collections ----

  createCollection(name: string, body: Record<string, Json>): boolean {
    if (this.collections.has(name)) throw new QdrantInputError(`Wrong input: Collection \`${name}\` already exists!`, 409);
    const vectors: Record<string, { size: number; distance: string }> = {};
    const rawVectors = body.vectors;
    if (isObject(rawVectors) && typeof rawVectors.size === 'number') vectors[''] = { size: rawVectors.size, distance: String(rawVectors.distance) };
    else if (isObject(rawVectors)) for (const [k, v] of Object.entries(rawVectors)) if (isObject(v)) vectors[k] = { size: Number(v.size), distance: String(v.distance) };
    const sparse: Record<string, { modifier?: string }> = {};
    if (isObject(body.sparse_vectors)) for (const [k, v] of Object.entries(body.sparse_vectors)) sparse[k] = isObject(v) && typeof v.modifier === 'string' ? { modifier: v.modifier } : {};
    this.collections.set(name, { name, config: { vectors, sparse, raw: clone(body) }, points: new Map(), indexes: new Map(), version: 0 });
    return true;
  }

  deleteCollection(name: string): boolean {
    return this.collections.delete(name);
  }

  collectionExists(name: string): { exists: boolean } {
    return { exists: this.collections.has(name) };
  }

  collectionInfo(name: string): Record<string, Json> {
    const c = this.collection(name);
    const vectors = c.config.vectors[''] ? c.config.vectors[''] : Object.fromEntries(Object.entries(c.config.vectors).map(([k, v]) => [k, { size: v.size, distance: v.distance }]));
    const raw = c.config.raw;
    const params: Record<string, Json> = { vectors, shard_number: typeof raw.shard_number === 'number' ? raw.shard_number : 1, replication_factor: typeof raw.replication_factor === 'number' ? raw.replication_factor : 1, write_consistency_factor: 1, on_disk_payload: true };
    if (Object.keys(c.config.sparse).length > 0) params.sparse_vectors = clone(c.config.sparse);
    const payloadSchema: Record<string, Json> = {};
    for (const [field, info] of c.indexes) {
      const points = [...c.points.values()].filter((p) => valuesAt(p.payload, field).length > 0).length;
      payloadSchema[field] = info.params ? { data_type: info.data_type, params: info.params, points } : { data_type: info.data_type, points };
    }
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: c.points.size,
      segments_count: 1,
      config: {
        params,
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: { deleted_threshold: 0.2, vacuum_min_vector_number: 1000, default_segment_number: 0, max_segment_size: null, memmap_threshold: null, indexing_threshold: 10000, flush_interval_sec: 5, max_optimization_threads: null },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: isObject(raw.quantization_config) ? clone(raw.quantization_config) : null,
      },
      payload_schema: payloadSchema,
    };
  }

  createIndex(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    const field = String(body.field_name);
    const schema = body.field_schema;
    if (typeof schema === 'string') c.indexes.set(field, { data_type: schema, params: null });
    else if (isObject(schema)) c.indexes.set(field, { data_type: String(schema.type), params: clone(schema) });
    else throw new QdrantInputError('Wrong input: field_schema is required');
    return this.updated(c);
  }

  deleteIndex(name: string, field: string): Record<string, Json> {
    const c = this.collection(name);
    c.indexes.delete(field);
    return this.updated(c);
  }

  private updated(c: Collection): Record<string, Json> {
    c.version += 1;
    return { operation_id: c.version, status: 'completed' };
  }

  // ---- points ----

  private checkVectors(c: Collection, vector: Json): Map<string, StoredVector> {
    const out = new Map<string, StoredVector>();
    const entries: [string, Json][] = Array.isArray(vector) ? [['', vector]] : isObject(vector) ? Object.entries(vector) : [];
    for (const [name, v] of entries) {
      if (isSparse(v)) {
        if (!c.config.sparse[name]) throw new QdrantInputError(`Wrong input: Not existing vector name error: ${name}`);
        if (v.indices.length !== v.values.length) throw new QdrantInputError('Wrong input: Sparse vector indices and values must have the same length');
        if (new Set(v.indices).size !== v.indices.length) throw new QdrantInputError('Validation error in JSON body: [sparse vector indices must be unique]');
        out.set(name, { indices: [...v.indices], values: [...v.values] });
      } else if (Array.isArray(v)) {
        const params = c.config.vectors[name];
        if (!params) throw new QdrantInputError(`Wrong input: Not existing vector name error: ${name}`);
        if (v.length !== params.size) throw new QdrantInputError(`Wrong input: Vector dimension error: expected dim: ${params.size}, got ${v.length}`);
        const numbers = v as number[];
        out.set(name, params.distance === 'Cosine' ? cosineNormalize(numbers) : [...numbers]);
      } else {
        throw new QdrantInputError(`Wrong input: unsupported vector for ${name || 'default vector'}`);
      }
    }
    return out;
  }

  upsert(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    if (!Array.isArray(body.points)) throw new QdrantInputError('Wrong input: only the points list form is implemented by the fake');
    const mode = typeof body.update_mode === 'string' ? body.update_mode : 'upsert';
    const updateFilter = isObject(body.update_filter) ? body.update_filter : null;
    const prepared = (body.points as Record<string, Json>[]).map((p) => ({ id: normalizeId(p.id as PointId), vectors: this.checkVectors(c, p.vector), payload: isObject(p.payload) ? clone(p.payload) : {} }));
    for (const p of prepared) {
      const key = idKey(p.id);
      const existing = c.points.get(key);
      if (existing) {
        if (mode === 'insert_only') continue;
        if (updateFilter && !this.matches(c, existing, updateFilter)) continue;
      } else if (mode === 'update_only') {
        continue;
      }
      c.points.set(key, { id: p.id, vectors: p.vectors, payload: p.payload, version: c.version + 1 });
    }
    return this.updated(c);
  }

  private selected(c: Collection, body: Record<string, Json>): StoredPoint[] {
    if (Array.isArray(body.points)) return (body.points as PointId[]).map((id) => c.points.get(idKey(normalizeId(id)))).filter((p): p is StoredPoint => p !== undefined);
    if (isObject(body.filter)) return [...c.points.values()].filter((p) => this.matches(c, p, body.filter as Record<string, Json>));
    throw new QdrantInputError('Wrong input: either points or filter is required');
  }

  deletePoints(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    for (const p of this.selected(c, body)) c.points.delete(idKey(p.id));
    return this.updated(c);
  }

  setPayload(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    if (body.key !== undefined && body.key !== null) throw new QdrantInputError('Wrong input: set_payload with `key` is not implemented by the fake');
    const payload = isObject(body.payload) ? body.payload : {};
    for (const p of this.selected(c, body)) p.payload = { ...p.payload, ...clone(payload) };
    return this.updated(c);
  }

  retrieve(name: string, body: Record<string, Json>): Record<string, Json>[] {
    const c = this.collection(name);
    const ids = Array.isArray(body.ids) ? (body.ids as PointId[]) : [];
    return ids
      .map((id) => c.points.get(idKey(normalizeId(id))))
      .filter((p): p is StoredPoint => p !== undefined)
      .map((p) => this.record(p, body.with_payload ?? true, body.with_vector ?? false));
  }

  private sortedPoints(c: Collection): StoredPoint[] {
    return [...c.points.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
  }

  scroll(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    const limit = typeof body.limit === 'number' ? body.limit : 10;
    const filter = isObject(body.filter) ? body.filter : null;
    let points = this.sortedPoints(c).filter((p) => !filter || this.matches(c, p, filter));
    const orderBy = typeof body.order_by === 'string' ? { key: body.order_by } : isObject(body.order_by) ? body.order_by : null;
    if (orderBy) {
      const key = String(orderBy.key);
      const index = c.indexes.get(key);
      const rangeOk = index && ((index.data_type === 'integer' && index.params?.range !== false) || index.data_type === 'float' || index.data_type === 'datetime');
      if (!rangeOk) throw new QdrantInputError(`Bad request: No range index for \`order_by\` key: \`${key}\`. Please create one to use \`order_by\`. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions`);
      const desc = orderBy.direction === 'desc';
      const withValue = points.flatMap((p) => valuesAt(p.payload, key).filter((v): v is number => typeof v === 'number').map((v) => ({ p, v })));
      withValue.sort((a, b) => (desc ? b.v - a.v : a.v - b.v));
      const page = withValue.slice(0, limit);
      return { points: page.map(({ p, v }) => ({ ...this.record(p, body.with_payload ?? true, body.with_vector ?? false), order_value: v })), next_page_offset: null };
    }
    if (body.offset !== undefined && body.offset !== null) {
      const from = idKey(normalizeId(body.offset as PointId));
      points = points.filter((p) => idKey(p.id) >= from);
    }
    const page = points.slice(0, limit);
    const next = points[limit];
    return { points: page.map((p) => this.record(p, body.with_payload ?? true, body.with_vector ?? false)), next_page_offset: next ? next.id : null };
  }

  count(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    const filter = isObject(body.filter) ? body.filter : null;
    return { count: [...c.points.values()].filter((p) => !filter || this.matches(c, p, filter)).length };
  }

  // ---- query ----

  query(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    const limit = typeof body.limit === 'number' ? body.limit : 10;
    const offset = typeof body.offset === 'number' ? body.offset : 0;
    const scored = this.evaluate(c, body).slice(offset, offset + limit);
    return { points: scored.map((s) => this.scoredPoint(s, body)) };
  }

  /** `POST …/points/query/batch`: each search answered as `query` would, in order, as one response (a list of `{ points }`). */
  queryBatch(name: string, body: Record<string, Json>): Json {
    this.collection(name);
    const searches = Array.isArray(body.searches) ? body.searches : [];
    return searches.map((search) => {
      if (!isObject(search)) throw new QdrantInputError('Bad request: each search must be a query request');
      return this.query(name, search);
    });
  }

  queryGroups(name: string, body: Record<string, Json>): Record<string, Json> {
    const c = this.collection(name);
    const groupBy = String(body.group_by);
    const groupSize = typeof body.group_size === 'number' ? body.group_size : 3;
    const limit = typeof body.limit === 'number' ? body.limit : 10;
    const groups = new Map<string, { id: string | number; hits: Scored[] }>();
    for (const s of this.evaluate(c, { ...body, limit: undefined })) {
      for (const value of valuesAt(s.point.payload, groupBy)) {
        if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) continue;
        const key = JSON.stringify(value);
        let group = groups.get(key);
        if (!group) {
          if (groups.size >= limit) continue;
          group = { id: value, hits: [] };
          groups.set(key, group);
        }
        if (group.hits.length < groupSize) group.hits.push(s);
      }
    }
    return { groups: [...groups.values()].map((g) => ({ id: g.id, hits: g.hits.map((s) => this.scoredPoint(s, body)) })) };
  }

  /** Scored candidates of a query (or prefetch) request, best first; all of them (limits applied by callers and prefetches). */
  private evaluate(c: Collection, request: Record<string, Json>): Scored[] {
    const filter = isObject(request.filter) ? request.filter : null;
    const prefetches = asArray(request.prefetch as Record<string, Json> | Record<string, Json>[] | null | undefined);
    let pool: Scored[][] | null = null;
    if (prefetches.length > 0) {
      pool = prefetches.map((p) => {
        const limit = typeof p.limit === 'number' ? p.limit : 10;
        return this.evaluate(c, p).slice(0, limit);
      });
    }
    const allowed = (p: StoredPoint) => !filter || this.matches(c, p, filter);
    const candidates = (pool ? this.unique(pool.flat()) : this.sortedPoints(c)).filter(allowed);
    const admitted = new Set(candidates);
    const query = request.query;
    let scored: Scored[];
    if (query === undefined || query === null) {
      // No query: the prefetches' results as they came, or points in id order.
      if (!pool) return candidates.map((point) => ({ point, score: 0 }));
      const seen = new Set<StoredPoint>();
      return pool.flat().filter((s) => admitted.has(s.point) && !seen.has(s.point) && (seen.add(s.point), true));
    }
    if (isObject(query) && ('fusion' in query || 'rrf' in query)) {
      if (!pool) throw new QdrantInputError('Bad request: fusion requires prefetch');
      const fusion = 'fusion' in query ? query.fusion : 'rrf';
      if (fusion !== 'rrf') throw new QdrantInputError(`Wrong input: the fake implements rrf fusion only, got ${String(fusion)}`);
      const k = isObject(query.rrf) && typeof query.rrf.k === 'number' ? query.rrf.k : 2;
      const fused = new Map<StoredPoint, number>();
      for (const list of pool) list.forEach((s, rank) => fused.set(s.point, (fused.get(s.point) ?? 0) + 1 / (k + rank + 1)));
      scored = [...fused.entries()].filter(([p]) => admitted.has(p)).map(([point, score]) => ({ point, score }));
    } else {
      const vector = isObject(query) && 'nearest' in query ? query.nearest : query;
      const using = typeof request.using === 'string' ? request.using : '';
      scored = this.nearest(c, vector, using, candidates);
    }
    const threshold = typeof request.score_threshold === 'number' ? request.score_threshold : null;
    if (threshold !== null) scored = scored.filter((s) => s.score >= threshold);
    return scored.sort((a, b) => b.score - a.score);
  }

  private unique(scored: Scored[]): StoredPoint[] {
    return [...new Set(scored.map((s) => s.point))];
  }

  private nearest(c: Collection, vector: Json, using: string, candidates: StoredPoint[]): Scored[] {
    if (isSparse(vector)) {
      const params = c.config.sparse[using];
      if (!params) throw new QdrantInputError(`Wrong input: Not existing vector name error: ${using}`);
      if (new Set(vector.indices).size !== vector.indices.length) throw new QdrantInputError('Validation error in JSON body: [sparse vector indices must be unique]');
      const withVector = [...c.points.values()].filter((p) => p.vectors.has(using));
      const idf = new Map<number, number>();
      if (params.modifier === 'idf') {
        const n = withVector.length;
        for (const index of vector.indices) {
          const df = withVector.filter((p) => (p.vectors.get(using) as Sparse).indices.includes(index)).length;
          idf.set(index, Math.log(1 + (n - df + 0.5) / (df + 0.5)));
        }
      }
      const out: Scored[] = [];
      for (const point of candidates) {
        const stored = point.vectors.get(using);
        if (!stored || !isSparse(stored)) continue;
        let score = 0;
        let shared = false;
        vector.indices.forEach((index, i) => {
          const at = stored.indices.indexOf(index);
          if (at < 0) return;
          shared = true;
          score += vector.values[i]! * (idf.get(index) ?? 1) * stored.values[at]!;
        });
        if (shared) out.push({ point, score });
      }
      return out;
    }
    if (!Array.isArray(vector) || vector.some((x) => typeof x !== 'number')) throw new QdrantInputError('Wrong input: the fake implements dense and sparse vector queries only');
    const params = c.config.vectors[using];
    if (!params) throw new QdrantInputError(`Wrong input: Not existing vector name error: ${using || 'default vector'}`);
    if (vector.length !== params.size) throw new QdrantInputError(`Wrong input: Vector dimension error: expected dim: ${params.size}, got ${vector.length}`);
    const q = params.distance === 'Cosine' ? cosineNormalize(vector as number[]) : (vector as number[]);
    return candidates.flatMap((point) => {
      const stored = point.vectors.get(using);
      return Array.isArray(stored) ? [{ point, score: dot(q, stored) }] : [];
    });
  }

  // ---- filters ----

  matches(c: Collection, point: StoredPoint, filter: Record<string, Json>): boolean {
    const must = asArray(filter.must as Json[] | Json | null | undefined) as Record<string, Json>[];
    const should = asArray(filter.should as Json[] | Json | null | undefined) as Record<string, Json>[];
    const mustNot = asArray(filter.must_not as Json[] | Json | null | undefined) as Record<string, Json>[];
    if (!must.every((cond) => this.condition(c, point, cond))) return false;
    if (should.length > 0 && !should.some((cond) => this.condition(c, point, cond))) return false;
    if (mustNot.some((cond) => this.condition(c, point, cond))) return false;
    if (isObject(filter.min_should)) {
      const conditions = asArray(filter.min_should.conditions as Json[]) as Record<string, Json>[];
      const needed = Number(filter.min_should.min_count);
      if (conditions.filter((cond) => this.condition(c, point, cond)).length < needed) return false;
    }
    return true;
  }

  private condition(c: Collection, point: StoredPoint, cond: Record<string, Json>): boolean {
    if ('must' in cond || 'should' in cond || 'must_not' in cond || 'min_should' in cond) return this.matches(c, point, cond);
    if (Array.isArray(cond.has_id)) return (cond.has_id as PointId[]).some((id) => idKey(normalizeId(id)) === idKey(point.id));
    if (isObject(cond.is_null)) {
      const { found, value } = rawAt(point.payload, String(cond.is_null.key));
      return found && (value === null || (Array.isArray(value) && value.length > 0 && value.every((v) => v === null)));
    }
    if (isObject(cond.is_empty)) {
      const { found, value } = rawAt(point.payload, String(cond.is_empty.key));
      return !found || value === null || (Array.isArray(value) && value.length === 0);
    }
    if (typeof cond.has_vector === 'string') return point.vectors.has(cond.has_vector);
    if (typeof cond.key !== 'string') throw new QdrantInputError(`Wrong input: the fake does not implement the condition ${JSON.stringify(cond)}`);
    const values = valuesAt(point.payload, cond.key);
    if (isObject(cond.match)) {
      const m = cond.match;
      if ('value' in m) return values.some((v) => v === m.value);
      if ('any' in m) return values.some((v) => (m.any as Json[]).includes(v));
      if ('except' in m) return values.length === 0 || values.some((v) => !(m.except as Json[]).includes(v));
      throw new QdrantInputError(`Wrong input: the fake does not implement the match ${JSON.stringify(m)}`);
    }
    if (isObject(cond.range)) {
      const r = cond.range;
      return values.some(
        (v) =>
          typeof v === 'number' &&
          (typeof r.lt !== 'number' || v < r.lt) &&
          (typeof r.lte !== 'number' || v <= r.lte) &&
          (typeof r.gt !== 'number' || v > r.gt) &&
          (typeof r.gte !== 'number' || v >= r.gte),
      );
    }
    if (isObject(cond.values_count)) {
      const n = values.length;
      const r = cond.values_count;
      return (typeof r.lt !== 'number' || n < r.lt) && (typeof r.lte !== 'number' || n <= r.lte) && (typeof r.gt !== 'number' || n > r.gt) && (typeof r.gte !== 'number' || n >= r.gte);
    }
    if (cond.is_null === true) return rawAt(point.payload, cond.key).value === null;
    if (cond.is_empty === true) return values.length === 0;
    throw new QdrantInputError(`Wrong input: the fake does not implement the condition ${JSON.stringify(cond)}`);
  }

  // ---- output ----

  private payloadView(payload: Payload, withPayload: Json): Payload | null {
    if (withPayload === false || withPayload === null || withPayload === undefined) return null;
    if (withPayload === true) return clone(payload);
    const include = Array.isArray(withPayload) ? (withPayload as string[]) : isObject(withPayload) && Array.isArray(withPayload.include) ? (withPayload.include as string[]) : null;
    if (include) return Object.fromEntries(include.filter((k) => k in payload).map((k) => [k, clone(payload[k])]));
    if (isObject(withPayload) && Array.isArray(withPayload.exclude)) {
      const exclude = withPayload.exclude as string[];
      return Object.fromEntries(Object.entries(payload).filter(([k]) => !exclude.includes(k)).map(([k, v]) => [k, clone(v)]));
    }
    return clone(payload);
  }

  private vectorView(point: StoredPoint, withVector: Json): Record<string, Json> | null {
    if (withVector === false || withVector === null || withVector === undefined) return null;
    const names = withVector === true ? [...point.vectors.keys()] : Array.isArray(withVector) ? (withVector as string[]) : [];
    return Object.fromEntries(names.filter((n) => point.vectors.has(n)).map((n) => [n, clone(point.vectors.get(n)!)]));
  }

  private record(point: StoredPoint, withPayload: Json, withVector: Json): Record<string, Json> {
    const out: Record<string, Json> = { id: point.id };
    const payload = this.payloadView(point.payload, withPayload);
    if (payload) out.payload = payload;
    const vector = this.vectorView(point, withVector);
    if (vector) out.vector = vector;
    return out;
  }

  private scoredPoint(s: Scored, request: Record<string, Json>): Record<string, Json> {
    return { ...this.record(s.point, request.with_payload ?? false, request.with_vector ?? false), score: s.score, version: s.point.version };
  }

  /** Every point of a collection, for assertions. */
  allPoints(name: string): { id: PointId; payload: Payload; vectors: string[] }[] {
    const c = this.collections.get(name);
    if (!c) return [];
    return this.sortedPoints(c).map((p) => ({ id: p.id, payload: clone(p.payload), vectors: [...p.vectors.keys()] }));
  }
}
