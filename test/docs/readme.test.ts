/** The README stays true to the code: its inputs table and quick start. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderModuleDocs, updateReadme } from '../../scripts/lib/module-docs';

const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const moduleJson = join(root, 'dist', 'terraform-module', 'cdk.tf.json');

describe('README', () => {
  it('should have the module inputs and outputs exactly as synthesized (run `npm run docs` to update)', () => {
    expect(existsSync(moduleJson)).toBe(true);
    expect(updateReadme(readme, renderModuleDocs(moduleJson))).toBe(readme);
  });

  it('should give exactly two quick-start commands', () => {
    const quickStart = readme.split('## Quick start')[1]?.split('\n## ')[0] ?? '';
    const commands = quickStart.match(/```(?:bash|sh)\n([\s\S]*?)```/g) ?? [];
    const lines = commands.flatMap((block) => block.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('```') && !l.trim().startsWith('#')));
    expect(lines).toEqual(['npm ci && npm run synth', 'npm test']);
  });
});
