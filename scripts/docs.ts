/**
 * `npm run docs`: regenerate the README's module inputs and outputs tables
 * (after `npm run synth`) and docs/API.md (`npm run docs:api` alone needs no synth).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderModuleDocs, updateReadme } from './lib/module-docs';
import './api-docs';

const root = join(__dirname, '..');
const readmePath = join(root, 'README.md');
const moduleJson = join(root, 'dist', 'terraform-module', 'cdk.tf.json');
writeFileSync(readmePath, updateReadme(readFileSync(readmePath, 'utf8'), renderModuleDocs(moduleJson)));
console.log('README.md inputs and outputs regenerated from dist/terraform-module');
