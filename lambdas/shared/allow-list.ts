/**
 * REPOSITORY_ALLOW_LIST: which repositories may have their jobs queued (the
 * webhook) or start runners (the runner API). Pure.
 */

/**
 * Whether `owner/name` may queue jobs. `allowList` holds lower-cased
 * "owner/repo" names; undefined allows every repository. GitHub owner and
 * repository names are case-insensitive, so the comparison is too.
 *
 * The name checked is repository.owner.login + "/" + repository.name, the
 * identity the JobMessage carries and scale-up acts on (GitHub's full_name is
 * the same string in real deliveries).
 */
export function isRepositoryAllowed(owner: string, name: string, allowList: ReadonlySet<string> | undefined): boolean {
  return allowList === undefined || allowList.has(`${owner}/${name}`.toLowerCase());
}
