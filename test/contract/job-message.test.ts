import { InvalidJobMessageError, parseJobMessage, parsePoolTopUpMessage } from '../../modules/contract/job-message';

/** Both queue message parsers refuse, with one error type, a body that is not a JSON object (scale-up acknowledges it as poison). */
describe.each([
  ['job message', parseJobMessage],
  ['pool top-up', parsePoolTopUpMessage],
] as const)('%s parser', (_name, parse) => {
  it.each([
    ['not JSON', '{"version":1', 'body is not JSON'],
    ['null', 'null', 'body is not an object'],
    ['an array', '[1,2]', 'body is not an object'],
    ['a number', '7', 'body is not an object'],
  ])('should refuse a body that is %s', (_what, body, reason) => {
    expect(() => parse(body)).toThrow(InvalidJobMessageError);
    expect(() => parse(body)).toThrow(`invalid job message: ${reason}`);
  });
});
