/** What the numbers were measured on. */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem, type } from 'node:os';

export interface MachineDescription {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly date: string;
  /** Short commit, with "+changes" when the work tree differs from it; undefined outside git. */
  readonly commit?: string;
}

export function describeMachine(repoRoot: string, now = new Date()): MachineDescription {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() || 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    date: now.toISOString(),
    commit: gitCommit(repoRoot),
  };
}

function gitCommit(repoRoot: string): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return undefined;
  }
}
