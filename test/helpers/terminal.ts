import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A command running on a real pseudo-terminal (a tmux pane of its own server), so raw mode, Ctrl-C
 * as a keystroke, terminal width and prompts behave as a person sees them; pipes hide all four.
 */
export class Terminal {
  private constructor(
    private readonly socket: string,
    private readonly folder: string,
  ) {}

  /** Starts `argv` in a new pane of this size, in `cwd`, with these environment variables set. */
  static async open(
    argv: readonly string[],
    options: { cwd: string; env?: Record<string, string>; columns?: number; rows?: number },
  ): Promise<Terminal> {
    const folder = await mkdtemp(join(tmpdir(), 'stackctl-tty-'));
    const socket = `stackctl-test-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
    const exports = Object.entries({ TERM: 'xterm-256color', ...options.env })
      .map(([name, value]) => `${name}=${quote(value)}`)
      .join(' ');
    // The exit code goes to a file; the pane stays open afterwards so its text can still be read.
    // The shell traps SIGINT so that Ctrl-C ends only the command, as job control would arrange.
    const script = `trap : INT; cd ${quote(options.cwd)} && env -u NO_COLOR -u CI ${exports} ${argv.map(quote).join(' ')}; echo $? > ${quote(join(folder, 'exit'))}; sleep 600`;
    await execa('tmux', [
      '-L',
      socket,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-x',
      String(options.columns ?? 120),
      '-y',
      String(options.rows ?? 40),
      'sh',
      '-c',
      script,
    ]);
    return new Terminal(socket, folder);
  }

  /** Types keys as tmux names them: 'C-c', 'C-d', 'Enter', or literal text. */
  async send(...keys: string[]): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'send-keys', ...keys]);
  }

  /** What the pane shows now, lines joined. */
  async screen(): Promise<string> {
    return (await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-J', '-S', '-200'])).stdout;
  }

  /** Waits until the pane shows this text. */
  async waitFor(text: string | RegExp, timeoutMs = 20_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
      if (Date.now() > until) throw new Error(`terminal never showed ${String(text)}; it shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Resizes the window, as a person dragging its corner (the command gets SIGWINCH). */
  async resize(columns: number, rows: number): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'resize-window', '-x', String(columns), '-y', String(rows)]);
  }

  /** A tmux format of the pane: '#{alternate_on}' (1 while a full-screen program holds it), '#{cursor_flag}'. */
  async paneFormat(format: string): Promise<string> {
    return (await execa('tmux', ['-L', this.socket, 'display-message', '-p', format])).stdout.trim();
  }

  /** The lines the pane shows now (its visible rows only), as wide as they are drawn. */
  async visibleLines(): Promise<string[]> {
    return (await execa('tmux', ['-L', this.socket, 'capture-pane', '-p'])).stdout.split('\n');
  }

  /** The command's exit code once it has ended, waiting at most timeoutMs; undefined if still running. */
  async exitCode(timeoutMs = 0): Promise<number | undefined> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(join(this.folder, 'exit'), 'utf8').catch(() => '');
      if (text.trim() !== '') return Number(text.trim());
      if (Date.now() >= until) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'kill-server'], { reject: false });
    await rm(this.folder, { recursive: true, force: true });
  }
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
