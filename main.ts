/**
 * `npm run synth`: synthesizes the example root stack and the plain Terraform
 * module, then copies the module (JSON plus its Lambda zips) to
 * dist/terraform-module/. Needs no AWS account and no network.
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App } from 'cdktf';
import { BakedImageExampleStack } from './examples/baked-image/baked-image-stack';
import { DefaultExampleStack } from './examples/default/default-stack';
import { GhesExampleStack } from './examples/ghes/ghes-stack';
import { MultiRunnerExampleStack } from './examples/multi-runner/multi-runner-stack';
import { PromotionEnvironmentStack, readArtifacts } from './examples/promotion/promotion-stacks';
import { TerraformModuleStack } from './modules/terraform-module/terraform-module-stack';

const outdir = process.env.CDKTF_OUTDIR ?? join(__dirname, 'cdktf.out');
const moduleDir = join(__dirname, 'dist', 'terraform-module');

const app = new App({ outdir, skipValidation: false });
new DefaultExampleStack(app, 'example-default');
new MultiRunnerExampleStack(app, 'example-multi-runner');
new GhesExampleStack(app, 'example-ghes');
new BakedImageExampleStack(app, 'example-baked-image');
const artifacts = readArtifacts();
new PromotionEnvironmentStack(app, 'example-promotion-dev', { environment: 'dev', region: 'eu-west-1', artifacts, runnersMaximumCount: 5 });
new PromotionEnvironmentStack(app, 'example-promotion-prod', { environment: 'prod', region: 'eu-west-1', artifacts, runnersMaximumCount: 50 });
new TerraformModuleStack(app, 'terraform-module');
app.synth();

if (existsSync(moduleDir)) rmSync(moduleDir, { recursive: true });
cpSync(join(outdir, 'stacks', 'terraform-module'), moduleDir, { recursive: true });

const rel = (p: string) => relative(process.cwd(), p) || '.';
console.log(`synthesized stacks in ${rel(join(outdir, 'stacks'))}/: ${app.node.children.map((c) => c.node.id).join(', ')}`);
console.log(`Terraform module for HCL users in ${rel(moduleDir)}/ (use it as module source)`);
