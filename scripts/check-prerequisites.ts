/**
 * First step of `npm test`: checks every tool the suite needs and prints, in
 * one message, what is missing and how to install it (issue #10 item 11).
 * The list is data: add a tool in one entry.
 */
import { spawnSync } from 'node:child_process';
import { motoServerCommand } from './lib/moto';
import { findPluginDir } from './lib/terraform';

interface Prerequisite {
  readonly name: string;
  /** Undefined when present and good enough, else what is wrong. */
  readonly problem: () => string | undefined;
  readonly install: string;
}

function version(command: string, args: string[]): string | undefined {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? `${r.stdout}${r.stderr}` : undefined;
}

function atLeast(found: string, wanted: [number, number]): boolean {
  const [major, minor] = found.split('.').map(Number);
  return major > wanted[0] || (major === wanted[0] && minor >= wanted[1]);
}

export const PREREQUISITES: readonly Prerequisite[] = [
  {
    name: 'Node.js >= 20',
    problem: () => (atLeast(process.versions.node, [20, 0]) ? undefined : `found ${process.versions.node}`),
    install: 'install Node.js 20 or 22 (https://nodejs.org/)',
  },
  {
    name: 'Terraform >= 1.9',
    problem: () => {
      const out = version('terraform', ['version']);
      if (out === undefined) return 'not on PATH';
      const v = /Terraform v(\d+\.\d+)/.exec(out)?.[1];
      return v !== undefined && atLeast(v, [1, 9]) ? undefined : `found ${v ?? 'an unknown version'}`;
    },
    install: 'install Terraform 1.9 or later (https://developer.hashicorp.com/terraform/install); offline, put the hashicorp/aws 5.100.0 provider in a mirror and set TF_PLUGIN_DIR',
  },
  {
    name: 'shellcheck',
    problem: () => (version('shellcheck', ['--version']) === undefined ? 'not on PATH' : undefined),
    install: 'apt-get install shellcheck (or brew install shellcheck)',
  },
  {
    name: 'moto_server',
    problem: () => {
      const command = motoServerCommand();
      if (command === undefined) return 'not on PATH (nor $MOTO_SERVER)';
      // moto_server has no --version; --help shows it runs.
      return version(command, ['--help']) === undefined ? `${command} does not run` : undefined;
    },
    install: 'pip install "moto[server]==5.2.1" (or set MOTO_SERVER to its path)',
  },
];

/** The one message naming every missing prerequisite, or undefined when none is. */
export function missingPrerequisites(list: readonly Prerequisite[] = PREREQUISITES): string | undefined {
  const missing = list.flatMap((p) => {
    const problem = p.problem();
    return problem === undefined ? [] : [`- ${p.name}: ${problem}. Install: ${p.install}`];
  });
  if (missing.length === 0) return undefined;
  return `npm test needs tools that are missing:\n${missing.join('\n')}`;
}

if (require.main === module) {
  const message = missingPrerequisites();
  if (message !== undefined) {
    console.error(message);
    process.exit(1);
  }
  const mirror = findPluginDir();
  console.log(`prerequisites present${mirror ? `; provider mirror at ${mirror}` : '; no provider mirror: terraform init will use the registry'}`);
}
