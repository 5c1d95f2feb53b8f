// Asserting the `file:line: key: message` lines a YAML loader reports (rule files, device
// profiles), for a file given as lines of text.
import assert from 'node:assert/strict';
import { formatIssue, type SchemaIssue } from '../../src/config/validate.js';

export interface IssueChecks {
  /** The formatted issues of `lines` as the file. */
  issuesOf(lines: string[]): string[];
  /** Exactly one issue, at `line`, for `key` (none: '' ), whose message matches `message`. */
  assertOneIssue(lines: string[], line: number, key: string, message: RegExp): void;
}

export function issueChecks(file: string, load: (file: string, text: string) => { issues: SchemaIssue[] }): IssueChecks {
  const issuesOf = (lines: string[]): string[] => load(file, lines.join('\n') + '\n').issues.map(formatIssue);
  return {
    issuesOf,
    assertOneIssue(lines, line, key, message) {
      const issues = issuesOf(lines);
      assert.equal(issues.length, 1, `one issue expected, got:\n${issues.join('\n')}`);
      const prefix = key ? `${file}:${line}: ${key}: ` : `${file}:${line}: `;
      assert.ok(issues[0].startsWith(prefix), `expected "${prefix}…", got "${issues[0]}"`);
      assert.match(issues[0].slice(prefix.length), message);
    },
  };
}
