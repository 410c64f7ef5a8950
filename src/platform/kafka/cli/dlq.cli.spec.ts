import { parseDlqArgs } from './dlq.cli';

describe(parseDlqArgs.name, () => {
  it('reads list and redrive with their options', () => {
    expect(parseDlqArgs(['list', 'email', '--limit', '50', '--pending'])).toEqual({ command: 'list', module: 'email', limit: 50, pending: true, cursor: undefined });
    expect(parseDlqArgs(['redrive', 'email', '--id', '0:15', '--id', 'b0f1c2e8-0000-7000-8000-000000000001'])).toEqual({
      command: 'redrive',
      module: 'email',
      ids: ['0:15', 'b0f1c2e8-0000-7000-8000-000000000001'],
    });
    expect(parseDlqArgs(['redrive', 'email', '--all'])).toEqual({ command: 'redrive', module: 'email', ids: undefined });
  });

  it.each([
    [['redrive', 'email'], /--id <id> \(one or more\), or --all/],
    [['redrive', 'email', '0:15'], /usage/], // a bare id (or npm swallowing --id without the --)
    [['redrive', 'email', '--ids', '0:15'], /Unknown option '--ids'/],
    [['redrive', 'email', '--id', '0:15', '0:16'], /usage/], // a second id without its --id
    [['redrive', 'email', '--id', '0:15', '--all'], /--id <id> \(one or more\), or --all/],
    [['list', 'email', '--id', '0:15'], /belong to redrive/],
    [['list', 'nope'], /usage/],
  ])('refuses %j instead of redriving everything', (argv, message) => {
    expect(() => parseDlqArgs(argv)).toThrow(message);
  });

  it('reads --id=<id> as the id it names, never as "everything"', () => {
    expect(parseDlqArgs(['redrive', 'email', '--id=0:15'])).toEqual({ command: 'redrive', module: 'email', ids: ['0:15'] });
  });
});
