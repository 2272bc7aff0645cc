/** Tag maps that may be literal (CDKTF props) or a Terraform expression (the module's `tags` variable). */
import { Fn, Token } from 'cdktf';

/** `base` plus `extra`; extra wins. Works whether `base` is a literal map or a token. */
export function mergeTags(base: Record<string, string> | undefined, extra: Record<string, string>): Record<string, string> {
  if (base === undefined) return extra;
  if (Token.isUnresolved(base)) return Token.asStringMap(Fn.merge([base, extra]));
  return { ...base, ...extra };
}
