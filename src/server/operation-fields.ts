/**
 * The top-level fields an operation selects, through inline and named fragments (pure). The one
 * place that answers "what does this operation call?", for authorization, audit, deadlines and
 * metrics alike: a client chooses its operation name, never its fields' names.
 */
import { getOperationAST, Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * Answers by document and operation node. Apollo and the document cache hand every request with the
 * same query text the same (never mutated) document object, and authorization, metrics and the
 * audit each ask for the same operation's fields: each document is walked once, not three times a
 * request. Weak keys: an answer lives as long as its document does.
 */
const fieldsByDocument = new WeakMap<DocumentNode, WeakMap<OperationDefinitionNode, readonly string[]>>();

export function topLevelFieldsOf(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  let byOperation = fieldsByDocument.get(document);
  if (!byOperation) fieldsByDocument.set(document, (byOperation = new WeakMap()));
  let fields = byOperation.get(operation);
  if (!fields) byOperation.set(operation, (fields = walkTopLevelFields(document, operation)));
  return [...fields]; // a copy: callers may sort or filter it
}

function walkTopLevelFields(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.add(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet);
      else if (!seen.has(s.name.value)) {
        // Each fragment once: cycles and fragment fan-out stay linear.
        seen.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) visit(f.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return [...names];
}

/** `topLevelFieldsOf` the operation `operationName` picks from `document` ([] when none matches). */
export function rootFieldsOf(document: DocumentNode, operationName: string | null | undefined): string[] {
  const operation = getOperationAST(document, operationName);
  return operation ? topLevelFieldsOf(document, operation) : [];
}

/**
 * The first string argument named one of `names` on a top-level field, written inline or passed as a
 * variable (the audit keeps "who asked what" either way). Only direct top-level fields are read.
 */
export function rootStringArgument(operation: OperationDefinitionNode, names: readonly string[], variables: Readonly<Record<string, unknown>>): string | null {
  for (const s of operation.selectionSet.selections) {
    if (s.kind !== Kind.FIELD) continue;
    for (const a of s.arguments ?? []) {
      if (!names.includes(a.name.value)) continue;
      if (a.value.kind === Kind.STRING) return a.value.value;
      if (a.value.kind === Kind.VARIABLE) {
        const v = variables[a.value.name.value];
        if (typeof v === 'string') return v;
      }
    }
  }
  return null;
}

/** Most top-level fields named in a metrics label; more are labelled "(multiple)". */
const MAX_LABEL_FIELDS = 3;

/**
 * The metrics label of an operation: its top-level fields (sorted) when all are `known` schema
 * fields and there are at most three, else "(multiple)", "(invalid)" or "(unparsed)". Never the
 * client-chosen operation name, so the series stay bounded whatever clients send.
 */
export function operationLabel(fields: readonly string[] | null, known: (field: string) => boolean): string {
  if (!fields || fields.length === 0) return '(unparsed)';
  if (!fields.every(known)) return '(invalid)';
  if (fields.length > MAX_LABEL_FIELDS) return '(multiple)';
  return [...new Set(fields)].sort().join(',');
}
