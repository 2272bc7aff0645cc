/** The allow list lives in lambdas/shared: the webhook and the runner API apply the same rule. */
export { isRepositoryAllowed } from '../shared/allow-list';
