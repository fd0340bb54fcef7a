/**
 * Progress output for commands: on a terminal, one status line redrawn in place above which
 * permanent lines scroll; on a pipe or a log file, only the permanent lines (and status lines
 * when asked), so logs stay readable.
 */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class TerminalStatus {
  readonly tty: boolean;
  private shown = false;

  constructor(private readonly stream: OutStream) {
    this.tty = stream.isTTY === true;
  }

  columns(): number {
    const c = this.stream.columns;
    return c !== undefined && c >= 20 ? c : 80;
  }

  /** A transient status: redrawn in place on a TTY; on a pipe printed as a line unless `ttyOnly`. */
  status(text: string, ttyOnly: boolean): void {
    if (this.tty) {
      const width = this.columns() - 1;
      this.stream.write(`\r\x1b[2K${text.length > width ? text.slice(0, width) : text}`);
      this.shown = true;
    } else if (!ttyOnly) {
      this.stream.write(`${text}\n`);
    }
  }

  /** A permanent line. */
  line(text: string): void {
    this.clear();
    this.stream.write(`${text}\n`);
  }

  clear(): void {
    if (this.tty && this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }

  /** `[████░░░░] 3/10` fitted to the terminal. */
  bar(done: number, total: number, suffix: string): string {
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    const width = Math.min(30, this.columns() - suffix.length - 6);
    if (width < 8) return suffix;
    const filled = Math.round(fraction * width);
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${suffix}`;
  }
}
