// Owns the acceptance walk's step runner: numbered steps, one line each ("ok  3. name (note)" or
// "fail 3. name: reason"), a step that needs an earlier failed one fails too (nothing is skipped),
// a time limit per step so a hanging server fails the walk instead of stalling it, and the summary.

export interface StepContext {
  /** Text shown in parentheses after the step name when it passes. */
  note(text: string): void;
}

export class Walk {
  passed = 0;
  failed = 0;
  readonly failures: string[] = [];
  readonly #print: (line: string) => void;
  readonly #timeoutMs: number;
  #number = 0;

  constructor(print: (line: string) => void, timeoutMs: number) {
    this.#print = print;
    this.#timeoutMs = timeoutMs;
  }

  /** Runs one step; its value, or undefined when it failed (later steps then fail with `need`). */
  async step<T>(name: string, run: (context: StepContext) => Promise<T>): Promise<T | undefined> {
    const number = ++this.#number;
    let note = "";
    const context: StepContext = {
      note: (text) => {
        note = text;
      },
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no result after ${Math.round(this.#timeoutMs / 1000)} s`)),
        this.#timeoutMs,
      );
    });
    try {
      const value = await Promise.race([run(context), timeout]);
      this.passed++;
      this.#print(`ok  ${number}. ${name}${note ? ` (${note})` : ""}`);
      return value;
    } catch (error) {
      this.failed++;
      const reason = error instanceof Error ? error.message : String(error);
      this.failures.push(`${number}. ${name}`);
      this.#print(`fail ${number}. ${name}: ${reason}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  summary(): string {
    return `${this.passed} passed, ${this.failed} failed`;
  }
}

/** The value of an earlier step, or an error naming that step when it failed. */
export function need<T>(value: T | undefined, step: string): T {
  if (value === undefined) throw new Error(`needs "${step}", which failed`);
  return value;
}

/** Throws when `condition` is false; the message says what was expected. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function mib(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}
