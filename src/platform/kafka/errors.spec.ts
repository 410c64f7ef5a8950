import { isInfrastructureError, isPermanent, PermanentEventError, TransientEventError } from './errors';
import { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { withoutTransportHeaders } from './module-kafka.server';

describe(isInfrastructureError.name, () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['an admin shutdown (57P01)', { code: '57P01', message: 'terminating connection due to administrator command' }],
    ['a connection exception class 08', { code: '08006', message: 'connection failure' }],
    ['a TypeORM error wrapping a cut connection', { message: 'Query failed', driverError: new Error('Connection terminated unexpectedly') }],
    ['a query on a transaction whose connection died', new QueryRunnerProviderAlreadyReleasedError()],
    ['the COMMIT of a transaction whose connection died', new QueryRunnerAlreadyReleasedError()],
  ])('recognises %s as a dependency outage', (_, error) => expect(isInfrastructureError(error)).toBe(true));

  it.each([
    ['a check violation', { code: '23514', message: 'violates check constraint' }],
    ['a raised exception', { code: 'P0001', message: 'injected failure' }],
    ['a plain error', new Error('boom')],
    ['nothing', undefined],
  ])('treats %s as the event’s own failure', (_, error) => expect(isInfrastructureError(error)).toBe(false));
});

describe(isPermanent.name, () => {
  it('is permanent for PermanentEventError and errors flagged permanent, transient otherwise', () => {
    expect(isPermanent(new PermanentEventError('bad', 'X'))).toBe(true);
    expect(isPermanent({ permanent: true })).toBe(true);
    expect(isPermanent(new TransientEventError('later'))).toBe(false);
    expect(isPermanent(new Error('unknown'))).toBe(false);
  });
});

describe(withoutTransportHeaders.name, () => {
  it('keeps the event headers and drops retry and dead-letter bookkeeping', () => {
    expect(withoutTransportHeaders({ 'event-id': 'e1', 'correlation-id': 'c1', 'retry-level': '1', 'dlq-error': 'x' })).toEqual({
      'event-id': 'e1',
      'correlation-id': 'c1',
    });
  });
});
