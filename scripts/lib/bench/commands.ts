/**
 * Wall-clock timing of the project's own npm scripts (build, synth, plan),
 * run as a user runs them. Output goes to a log file, not the console.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

export interface TimedCommand {
  readonly command: string;
  readonly ok: boolean;
  readonly seconds: number;
  /** Where stdout and stderr went. */
  readonly logPath: string;
  /** On failure, the last meaningful lines of the output. */
  readonly failure?: string;
}

/** Run `npm run <script>` in `cwd`, timing it from spawn to exit. */
export function timeNpmScript(script: string, cwd: string, logPath: string, env: NodeJS.ProcessEnv = {}): Promise<TimedCommand> {
  const command = `npm run ${script}`;
  return new Promise((resolve) => {
    const log = createWriteStream(logPath);
    const started = process.hrtime.bigint();
    const child = spawn('npm', ['run', script], {
      cwd,
      env: { ...process.env, CHECKPOINT_DISABLE: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const finish = (ok: boolean, extra?: string) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      log.end(() => {
        const failure = ok ? undefined : (extra ?? lastLines(readFileSync(logPath, 'utf8')));
        resolve({ command, ok, seconds, logPath, failure });
      });
    };
    child.on('error', (error) => finish(false, error.message));
    child.on('close', (code) => finish(code === 0));
  });
}

/** Per-target seconds that `npm run plan` prints ("planned <name> offline in <s> s"). */
export function planTargetSeconds(logPath: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(logPath, 'utf8').matchAll(/^planned (\S+) offline in ([\d.]+) s/gm)) out[m[1]] = Number(m[2]);
  return out;
}

function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('npm warn') && !l.startsWith('at '));
  return lines.slice(-3).join(' / ').slice(0, 300);
}
