/**
 * Where moto_server (the AWS emulator the over-the-wire tests run against)
 * is: $MOTO_SERVER, else `moto_server` on PATH. Shared by the prerequisite
 * check and test/cloud/moto.ts.
 */
import { spawnSync } from 'node:child_process';

/** The moto_server command, or undefined when none is installed. */
export function motoServerCommand(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MOTO_SERVER) return env.MOTO_SERVER;
  const onPath = spawnSync('/bin/sh', ['-c', 'command -v moto_server'], { encoding: 'utf8', env });
  return onPath.status === 0 && onPath.stdout.trim() !== '' ? onPath.stdout.trim() : undefined;
}
