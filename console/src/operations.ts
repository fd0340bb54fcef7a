/**
 * The GraphQL operations the console sends, and the shapes it reads back. Field names are the
 * public API's (schema/*.graphql); test/integration/console-operations.test.ts checks every one of
 * these documents against the server's schema.
 */

export type Role = 'technician' | 'agent' | 'admin';

export interface Session {
  me: { keyName: string; role: Role; tenant: string };
  health: { status: string; reasons: string[]; testModel: boolean; model: { id: string }; store: { kind: string; ready: boolean } };
}

export const SESSION = /* GraphQL */ `
  query ConsoleSession {
    me { keyName role tenant }
    health { status reasons testModel model { id } store { kind ready } }
  }
`;

export interface DocumentRef {
  id: string;
  title: string;
  url: string;
  kind: string;
}
export interface PageRef {
  number: number;
  text: string | null;
  thumbnailUrl: string | null;
}
export interface PhotoRef {
  id: string;
  caption: string | null;
  url: string | null;
}

export interface Hit {
  score: number;
  snippet: string | null;
  matchedBy: string[];
  document: DocumentRef | null;
  page: PageRef | null;
  photo: PhotoRef | null;
}

const HIT = `
  score snippet matchedBy
  document { id title url kind }
  page { number text thumbnailUrl }
  photo { id caption url }
`;

export interface Citation {
  marker: number;
  snippet: string;
  document: DocumentRef | null;
  page: PageRef | null;
  photo: PhotoRef | null;
}

export interface Answer {
  text: string;
  mode: 'LLM' | 'EXTRACTIVE';
  confidence: number | null;
  warnings: string[];
  citations: Citation[];
}

const ANSWER = `
  text mode confidence warnings
  citations { marker snippet document { id title url kind } page { number text thumbnailUrl } photo { id caption url } }
`;

export interface Candidate {
  label: string;
  score: number;
  confirmations: number;
}

export interface Identification {
  id: string;
  confident: boolean;
  candidates: Candidate[];
  reviewItem: { id: string } | null;
}

export interface SearchResult {
  noGoodMatch: boolean;
  hits: Hit[];
}

/** One request for what the photo shows and the pages it matches (the same file feeds both fields). */
export const LOOK_AT_PHOTO = /* GraphQL */ `
  query ConsoleLookAtPhoto($image: Upload!, $text: String) {
    identifyPart(image: $image, limit: 5) { id confident candidates { label score confirmations } reviewItem { id } }
    search(image: $image, text: $text, limit: 8) { noGoodMatch hits { ${HIT} } }
  }
`;

export const SEARCH_TEXT = /* GraphQL */ `
  query ConsoleSearch($text: String!) {
    search(text: $text, limit: 8) { noGoodMatch hits { ${HIT} } }
  }
`;

/** Photos cannot travel over WebSocket: a photo question is answered in one HTTP request. */
export const ASK_WITH_PHOTO = /* GraphQL */ `
  query ConsoleAskWithPhoto($image: Upload!, $question: String) {
    ask(image: $image, question: $question) { ${ANSWER} }
  }
`;

export type AskEvent = { __typename: 'AnswerDelta'; text: string } | ({ __typename: 'Answer' } & Answer);

export const ASK_STREAM = /* GraphQL */ `
  subscription ConsoleAskStream($question: String!) {
    askStream(question: $question) {
      __typename
      ... on AnswerDelta { text }
      ... on Answer { ${ANSWER} }
    }
  }
`;

export interface Feedback {
  id: string;
  label: string;
  undoneAt: string | null;
}

export const CONFIRM_PART = /* GraphQL */ `
  mutation ConsoleConfirmPart($identificationId: ID!, $label: String!) {
    confirmPart(identificationId: $identificationId, label: $label) { id label undoneAt }
  }
`;

export const UNDO_FEEDBACK = /* GraphQL */ `
  mutation ConsoleUndoFeedback($id: ID!) {
    undoFeedback(id: $id) { id label undoneAt }
  }
`;

export type ReviewStatus = 'OPEN' | 'CLAIMED' | 'RESOLVED';

export interface ReviewItem {
  id: string;
  kind: 'IDENTIFICATION' | 'UPLOAD';
  status: ReviewStatus;
  reason: string;
  createdAt: string;
  claimedBy: string | null;
  resolvedBy: string | null;
  label: string | null;
  note: string | null;
  photo: PhotoRef | null;
  identification: { id: string; confident: boolean; candidates: Candidate[] } | null;
}

const REVIEW_ITEM = `
  id kind status reason createdAt claimedBy resolvedBy label note
  photo { id caption url }
  identification { id confident candidates { label score confirmations } }
`;

export const REVIEW_QUEUE = /* GraphQL */ `
  query ConsoleReviewQueue($status: ReviewStatus, $after: String) {
    reviewQueue(status: $status, first: 20, after: $after) {
      totalCount
      nodes { ${REVIEW_ITEM} }
      pageInfo { endCursor hasNextPage }
    }
  }
`;

export const CLAIM_REVIEW = /* GraphQL */ `
  mutation ConsoleClaimReview($id: ID!) { claimReview(id: $id) { ${REVIEW_ITEM} } }
`;

export const RESOLVE_REVIEW = /* GraphQL */ `
  mutation ConsoleResolveReview($id: ID!, $label: String, $note: String) {
    resolveReview(id: $id, label: $label, note: $note) { ${REVIEW_ITEM} }
  }
`;

export interface DocumentSummary {
  id: string;
  title: string;
  kind: string;
  pageCount: number;
  createdAt: string;
  url: string;
}

export interface IngestedDocument extends DocumentSummary {
  /** The server already had this exact file (only details given were updated). */
  wasDuplicate: boolean;
}

export interface DocumentDetail extends DocumentSummary {
  mimeType: string;
  metadata: Record<string, unknown>;
  pages: PageRef[];
}

export const DOCUMENTS = /* GraphQL */ `
  query ConsoleDocuments($after: String) {
    documents(first: 20, after: $after) {
      totalCount
      nodes { id title kind pageCount createdAt url }
      pageInfo { endCursor hasNextPage }
    }
  }
`;

export const DOCUMENT = /* GraphQL */ `
  query ConsoleDocument($id: ID!) {
    document(id: $id) { id title kind pageCount createdAt url mimeType metadata pages { number text thumbnailUrl } }
  }
`;

export const DELETE_DOCUMENT = /* GraphQL */ `
  mutation ConsoleDeleteDocument($id: ID!) { deleteDocument(id: $id) }
`;

export const INGEST_DOCUMENT = /* GraphQL */ `
  mutation ConsoleIngestDocument($file: Upload!) { ingestDocument(file: $file) { id title kind pageCount createdAt url wasDuplicate } }
`;

export const INGEST_PHOTO = /* GraphQL */ `
  mutation ConsoleIngestPhoto($file: Upload!) { ingestPhoto(file: $file) { id caption url wasDuplicate duplicateOf { id } } }
`;

/** Every operation above, for the test that checks them against the schema. */
export const ALL_OPERATIONS = [
  SESSION, LOOK_AT_PHOTO, SEARCH_TEXT, ASK_WITH_PHOTO, ASK_STREAM, CONFIRM_PART, UNDO_FEEDBACK, REVIEW_QUEUE,
  CLAIM_REVIEW, RESOLVE_REVIEW, DOCUMENTS, DOCUMENT, DELETE_DOCUMENT, INGEST_DOCUMENT, INGEST_PHOTO,
];
