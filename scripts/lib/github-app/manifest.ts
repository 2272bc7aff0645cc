/**
 * The GitHub App manifest for the runners, and the GitHub URLs around it.
 *
 * The manifest asks for exactly what the Lambdas use: `workflow_job` events
 * (which need `actions: read`), `metadata: read`, and runner registration at
 * the chosen level; `actions: write` instead of read when the module re-runs
 * spot-interrupted jobs (`enable_spot_interruption_rerun`). A manifest cannot carry a webhook secret; see run.ts for
 * how the secret gets onto the App.
 */
import type { RunnerLevel } from './options';

export type Access = 'read' | 'write';

/** The manifest fields GitHub documents for "Creating a GitHub App from a manifest". */
export interface AppManifest {
  readonly name: string;
  readonly url: string;
  readonly description: string;
  readonly hook_attributes: { readonly url: string; readonly active: boolean };
  readonly redirect_url: string;
  readonly public: boolean;
  readonly default_events: readonly string[];
  readonly default_permissions: Readonly<Record<string, Access>>;
}

export interface ManifestInput {
  /** App name. */
  readonly name: string;
  /** App homepage. */
  readonly homepageUrl: string;
  /** The module's webhook endpoint. */
  readonly webhookUrl: string;
  /** Where GitHub sends the browser back with `?code=…&state=…`. */
  readonly redirectUrl: string;
  /** Runner level: decides the registration permission. */
  readonly level: RunnerLevel;
  /** The module prefix, for the description. */
  readonly prefix: string;
  /**
   * The module's `enable_spot_interruption_rerun` is on: scale-down re-runs
   * interrupted jobs (POST /repos/{owner}/{repo}/actions/jobs/{job_id}/rerun,
   * which GitHub Apps may call with `actions: write`). @default false
   */
  readonly spotInterruptionRerun?: boolean;
}

/** Permissions per runner level. Registering runners needs write on the level's runner API. */
export function permissionsFor(level: RunnerLevel, spotInterruptionRerun = false): Record<string, Access> {
  const common: Record<string, Access> = { actions: spotInterruptionRerun ? 'write' : 'read', metadata: 'read' };
  return level === 'org'
    ? { ...common, organization_self_hosted_runners: 'write' }
    : { ...common, administration: 'write' };
}

export function buildManifest(input: ManifestInput): AppManifest {
  return {
    name: input.name,
    url: input.homepageUrl,
    description: `Ephemeral self-hosted GitHub Actions runners on AWS (cdktf-github-runners, prefix ${input.prefix}, ${input.level}-level).`,
    hook_attributes: { url: input.webhookUrl, active: true },
    redirect_url: input.redirectUrl,
    public: false,
    default_events: ['workflow_job'],
    default_permissions: permissionsFor(input.level, input.spotInterruptionRerun),
  };
}

/** GitHub's "new App from manifest" page, owned by `org` or by the signed-in user. */
export function newAppPageUrl(githubWebUrl: string, org?: string, state?: string): string {
  const owner = org === undefined ? '' : `/organizations/${encodeURIComponent(org)}`;
  const url = new URL(`${githubWebUrl.replace(/\/+$/, '')}${owner}/settings/apps/new`);
  if (state !== undefined) url.searchParams.set('state', state);
  return url.toString();
}

/** The App's settings page, where a new private key or the webhook secret can be set by hand. */
export function appSettingsUrl(githubWebUrl: string, slug: string, org?: string): string {
  const owner = org === undefined ? '' : `/organizations/${encodeURIComponent(org)}`;
  return `${githubWebUrl.replace(/\/+$/, '')}${owner}/settings/apps/${encodeURIComponent(slug)}`;
}

/** Where an owner installs the App: `<html_url>/installations/new` (github.com `/apps/<slug>`, GHES `/github-apps/<slug>`). */
export function installUrl(appHtmlUrl: string): string {
  return `${appHtmlUrl.replace(/\/+$/, '')}/installations/new`;
}
