/**
 * Helpers for the construct tests: a throw-away Lambda bundle folder, typed
 * views of a synthesized stack, and the assertion for PropsValidationError.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
// Brings the global `toHaveResourceWithProperties` & co. matcher types into the program.
import type {} from 'cdktf/lib/testing/adapters/jest';
import { Construct } from 'constructs';
import { createZip } from '../../scripts/lib/deterministic-zip';
import type { Manifest } from '../../scripts/lib/lambda-bundles';
import { ModuleKey } from '../../modules/shared/module-key';
import { PropsValidationError } from '../../modules/shared/validation';

export interface TestBundle {
  /** The folder holding manifest.json and the zips; pass it to LambdaCode.fromBundle. */
  readonly dir: string;
  /** The hex sha256 of each zip, as the manifest records it. */
  readonly sha256: Record<string, string>;
}

/**
 * A bundle folder shaped like the one `npm run build` writes
 * (scripts/lib/lambda-bundles.ts): one tiny deterministic zip per name and a manifest.
 */
export function makeBundleDir(names: readonly string[] = ['webhook']): TestBundle {
  const dir = mkdtempSync(join(tmpdir(), 'lambda-bundles-'));
  const sha256: Record<string, string> = {};
  const lambdas: Record<string, { file: string; sha256: string; bytes: number }> = {};
  for (const name of names) {
    const zip = createZip([{ name: 'index.js', data: Buffer.from(`exports.handler = async () => '${name}';\n`) }]);
    const file = `${name}.zip`;
    writeFileSync(join(dir, file), zip);
    sha256[name] = createHash('sha256').update(zip).digest('hex');
    lambdas[name] = { file, sha256: sha256[name], bytes: zip.length };
  }
  const manifest: Manifest = { runtime: 'nodejs22.x', sdk: 'bundled', lambdas };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, sha256 };
}

/** The parts of a synthesized stack the tests read. */
export interface Synthesized {
  readonly resource?: Record<string, Record<string, any>>;
  readonly data?: Record<string, Record<string, any>>;
  readonly locals?: Record<string, any>;
  readonly variable?: Record<string, any>;
  readonly output?: Record<string, any>;
  readonly provider?: Record<string, any>;
  readonly terraform?: Record<string, any>;
}

/** Synthesizes `fn` in a fresh test stack; returns the JSON (for the cdktf matchers) and its parsed form. */
export function synth(fn: (scope: Construct) => void): { json: string; stack: Synthesized } {
  const json = Testing.synthScope(fn);
  return { json, stack: JSON.parse(json) as Synthesized };
}

/** Every resource of a type, by logical id. */
export function resources(stack: Synthesized, type: string): Record<string, any> {
  return stack.resource?.[type] ?? {};
}

/** Every data source of a type, by logical id. */
export function dataSources(stack: Synthesized, type: string): Record<string, any> {
  return stack.data?.[type] ?? {};
}

/** The one resource of a type; fails the test when there are none or several. */
export function onlyResource(stack: Synthesized, type: string): { id: string; config: any } {
  const entries = Object.entries(resources(stack, type));
  expect(entries.map(([id]) => id)).toHaveLength(1);
  return { id: entries[0][0], config: entries[0][1] };
}

/**
 * The logical id of the resource (or data source) at construct path `path`
 * below the stack, written with underscores: `fn_policy-document` for
 * `fn/policy-document` (cdktf drops a repeated path component, as in `key/key`).
 */
export function logicalId(stack: Synthesized, type: string, path: string, kind: 'resource' | 'data' = 'resource'): string {
  const all = kind === 'resource' ? resources(stack, type) : dataSources(stack, type);
  const pattern = new RegExp(`^${escape(path)}_[0-9A-F]{8}$`);
  const ids = Object.keys(all).filter((id) => pattern.test(id));
  expect({ path, ids }).toEqual({ path, ids: [expect.any(String)] });
  return ids[0];
}

/** An IAM statement as `aws_iam_policy_document` holds it after synthesis. */
export interface SynthStatement {
  readonly sid: string;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[] | string;
  readonly principals?: { type: string; identifiers: string[] }[];
  readonly condition?: { test: string; variable: string; values: string[] }[];
}

/** The statements of the policy document at construct path `path` (see logicalId). */
export function statementsOf(stack: Synthesized, path: string): SynthStatement[] {
  const id = logicalId(stack, 'aws_iam_policy_document', path, 'data');
  return dataSources(stack, 'aws_iam_policy_document')[id].statement as SynthStatement[];
}

/** Every statement of every policy document in the stack. */
export function allStatements(stack: Synthesized): SynthStatement[] {
  return Object.values(dataSources(stack, 'aws_iam_policy_document')).flatMap((d: any) => (d.statement ?? []) as SynthStatement[]);
}

/** A module key in `scope`, with the prefix the tests use unless given. */
export function testKey(scope: Construct, prefix = 'gh-ci'): ModuleKey {
  return new ModuleKey(scope, 'key', { prefix });
}

/**
 * Runs `fn` and returns the PropsValidationError it throws; fails the test
 * when it throws nothing or something else.
 */
export function validationError(fn: () => unknown): PropsValidationError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(PropsValidationError);
  return thrown as PropsValidationError;
}

export function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
