// Hot reload of `rulesDir` (SPEC §5): a changed file is reloaded, a deleted one drops its
// rules, and a file that no longer validates keeps the previous version of its rules
// running while its issues are reported. Rules of unchanged files stay the same objects,
// so the engine keeps their state.
//
// fs.watch is fast but not enough on its own: it cannot watch a directory that does not
// exist yet, stops when the directory is removed, and misses events on some filesystems
// (network mounts, some containers). A cheap poll of the files' stat signature covers all
// three; both only trigger a scan, which compares contents and is the one source of truth.
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import type { SchemaIssue } from '../config/validate.js';
import { listRuleFiles, loadRuleFile, mergeRuleFiles } from './loader.js';
import type { CompiledRule } from './types.js';

export interface RulesSnapshot {
  /** The full rule set now in force. */
  rules: CompiledRule[];
  /** Every problem in the directory as it is now (not only in the changed files). */
  issues: SchemaIssue[];
}

export interface RulesChange extends RulesSnapshot {
  /** Files added, modified or deleted since the last snapshot (full paths, sorted). */
  changedFiles: string[];
}

export interface RulesWatcherOptions {
  /** Quiet time after a file event before the scan: an editor's save is several events. */
  debounceMs?: number;
  /** Interval of the stat poll. */
  pollMs?: number;
}

interface FileState {
  text: string;
  /** The rules in force from this file: the last good version of each. */
  rules: CompiledRule[];
  issues: SchemaIssue[];
}

export class RulesWatcher {
  private files = new Map<string, FileState>();
  private signature = '';
  private fsWatcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private snapshot: RulesSnapshot = { rules: [], issues: [] };
  private readonly debounceMs: number;
  private readonly pollMs: number;

  constructor(
    readonly dir: string,
    private readonly onChange: (change: RulesChange) => void,
    opts: RulesWatcherOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 200;
    this.pollMs = opts.pollMs ?? 2_000;
  }

  /** Loads the directory and starts watching it; the first rule set is returned, not reported. */
  start(): RulesSnapshot {
    if (this.poll) return this.snapshot;
    this.scan();
    this.watchDir();
    this.poll = setInterval(() => this.pollTick(), this.pollMs);
    this.poll.unref();
    return this.snapshot;
  }

  stop(): void {
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
    this.poll = this.debounce = null;
    this.unwatchDir();
  }

  current(): RulesSnapshot {
    return this.snapshot;
  }

  private watchDir(): void {
    if (this.fsWatcher) return;
    try {
      this.fsWatcher = watch(this.dir, { persistent: false }, () => this.schedule());
      // The directory went away (or the watch broke): the poll takes over and re-watches.
      this.fsWatcher.on('error', () => {
        this.unwatchDir();
        this.schedule();
      });
    } catch {
      this.fsWatcher = null; // no directory yet: the poll notices when it appears
    }
  }

  private unwatchDir(): void {
    this.fsWatcher?.close();
    this.fsWatcher = null;
  }

  private schedule(): void {
    if (!this.poll) return; // stopped
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.rescan();
    }, this.debounceMs);
    this.debounce.unref();
  }

  private pollTick(): void {
    if (!this.fsWatcher) this.watchDir();
    if (this.statSignature() !== this.signature) this.schedule();
  }

  /** Names, sizes, mtimes and inodes: changes whenever a file is written, renamed or replaced. */
  private statSignature(): string {
    const parts: string[] = [];
    for (const file of this.list() ?? []) {
      try {
        const s = statSync(file);
        parts.push(`${file}:${s.size}:${s.mtimeMs}:${s.ino}`);
      } catch {
        parts.push(`${file}:gone`);
      }
    }
    return parts.join('\n');
  }

  private list(): string[] | null {
    try {
      return listRuleFiles(this.dir);
    } catch {
      return null;
    }
  }

  private rescan(): void {
    const changedFiles = this.scan();
    if (changedFiles.length) this.onChange({ ...this.snapshot, changedFiles });
  }

  /** Reloads the files whose text changed; returns them. */
  private scan(): string[] {
    const files = this.list();
    // An unreadable directory (permissions) is not an empty one: keep the rules in force.
    if (files === null) return [];
    this.signature = this.statSignature();
    const present = new Set<string>();
    const changed: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // deleted between listing and reading: the next scan sees it gone
      }
      present.add(file);
      const before = this.files.get(file);
      if (before?.text === text) continue;
      changed.push(file);
      this.files.set(file, reload(file, text, before));
    }
    for (const file of this.files.keys()) {
      if (!present.has(file)) {
        this.files.delete(file);
        changed.push(file);
      }
    }
    if (changed.length) {
      const perFile = new Map([...this.files].map(([f, s]) => [f, s.rules]));
      const merged = mergeRuleFiles(perFile);
      const issues = [...[...this.files.keys()].sort().flatMap((f) => this.files.get(f)!.issues), ...merged.issues];
      this.snapshot = { rules: merged.rules, issues };
    }
    return changed.sort();
  }
}

/** A file's new state: its good rules, plus the previous version of each rule that now fails. */
function reload(file: string, text: string, before: FileState | undefined): FileState {
  const r = loadRuleFile(file, text);
  const loaded = new Set(r.rules.map((rule) => rule.id));
  const failed = r.failedIds === null ? null : new Set(r.failedIds);
  const kept = (before?.rules ?? []).filter((rule) => !loaded.has(rule.id) && (failed === null || failed.has(rule.id)));
  return { text, rules: [...r.rules, ...kept], issues: r.issues };
}
