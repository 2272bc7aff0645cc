/**
 * One counter shared by the fakes (GitHub over HTTP, EC2, SSM), so a test can
 * order calls across them: "the runner was deleted at GitHub before its
 * instance was terminated" is `deleteCall.seq < terminateCall.seq`.
 */
let last = 0;

/** The next sequence number (strictly increasing for the life of the test file). */
export function nextCallSequence(): number {
  last += 1;
  return last;
}
