/**
 * Helpers for resources created with `for_each` over the runner types.
 * Inside such a resource, `eachRef(other, "arn")` is `other[each.key].arn`:
 * the instance of another per-type resource with the same key.
 */
import { ref, TerraformDataSource, TerraformResource, TerraformStack, Token } from 'cdktf';

type Addressable = TerraformResource | TerraformDataSource;

/** A resource's address (`aws_sqs_queue.name`) as a bare expression, for Terraform expressions we write. */
export function address(resource: Addressable): string {
  const kind = resource instanceof TerraformDataSource ? 'data.' : '';
  return `${kind}${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}

/** `resource[each.key].attribute`, for use inside a resource with the same for_each keys. */
export function eachRef(resource: Addressable, attribute: string): string {
  return Token.asString(ref(`${address(resource)}[each.key].${attribute}`, TerraformStack.of(resource)));
}

/** `values(resource)[*].attribute`: the attribute of every instance, as a list. */
export function allRefs(resource: Addressable, attribute: string): string[] {
  return Token.asList(ref(`values(${address(resource)})[*].${attribute}`, TerraformStack.of(resource)));
}
