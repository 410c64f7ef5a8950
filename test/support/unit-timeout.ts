// Unit specs touch no broker or database: a hung one should fail in seconds, not wait out the
// two minutes the e2e suites need (jest's testTimeout is global; a project cannot set its own).
jest.setTimeout(10_000);
