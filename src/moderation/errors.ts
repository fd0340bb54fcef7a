/**
 * Errors of the moderation layer. Messages name the policy label or term that fired, never
 * the user's text (which may be the offensive part, or an evasion of it).
 */
import { AppError, type AppErrorOptions } from '../errors.js';

export type ModeratedSubject = 'upload' | 'question' | 'answer' | 'caption';

const SUBJECT: Record<ModeratedSubject, string> = {
  upload: 'The upload',
  question: 'The question',
  answer: 'The answer',
  caption: 'The caption',
};

/** Refused by the moderation policy: an image label at or over its block threshold, or a blocked term. */
export class ContentBlockedError extends AppError {
  readonly subject: ModeratedSubject;
  readonly labels: readonly string[];
  readonly terms: readonly string[];

  constructor(subject: ModeratedSubject, found: { labels?: readonly string[]; terms?: readonly string[] }) {
    const labels = [...(found.labels ?? [])];
    const terms = [...(found.terms ?? [])];
    const quote = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');
    const why = [
      ...(labels.length > 0 ? [`policy label${labels.length > 1 ? 's' : ''} ${quote(labels)}`] : []),
      ...(terms.length > 0 ? [`blocked term${terms.length > 1 ? 's' : ''} ${quote(terms)}`] : []),
    ];
    super('CONTENT_BLOCKED', 'BAD_USER_INPUT', `${SUBJECT[subject]} was refused by the moderation policy (${why.join('; ') || 'policy'}).`, {
      details: { subject, labels, terms },
    });
    this.subject = subject;
    this.labels = labels;
    this.terms = terms;
  }
}

export type ModerationPolicyErrorCode = 'MODERATION_POLICY_INVALID' | 'MODERATION_POLICY_NOT_FOUND';

/** The policy file is missing, not JSON, or does not match the format. `issues` are readable lines naming the field. */
export class ModerationPolicyError extends AppError {
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
    code: ModerationPolicyErrorCode = 'MODERATION_POLICY_INVALID',
    options: AppErrorOptions = {},
  ) {
    super(
      code,
      'CONFIGURATION',
      code === 'MODERATION_POLICY_NOT_FOUND'
        ? `Moderation policy not found: ${source}${issues.length ? ` (${issues.join('; ')})` : ''}`
        : `Invalid moderation policy ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`,
      options,
    );
  }
}
