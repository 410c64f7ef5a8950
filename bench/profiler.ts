// A V8 CPU profile of each measured run (`npm run bench -- --profile`), and what it says in a few lines.
//
// Node's --cpu-prof profiles a whole process: the no-op run, the seeding and the drain all mixed into
// one file. Here the bench starts and stops the app's profiler over the child's IPC channel around
// each measured run, so each run's profile holds that run only, and the log lists where its busy
// time went: by package (or our folder) and by function, self time.
import { writeFileSync } from 'node:fs';
import { Session, type Profiler } from 'node:inspector';

export type ProfilerMessage = { profile: 'start' } | { profile: 'stop'; file: string };

/** In the app (bench/app.ts): starts and stops the in-process profiler when the bench asks. */
export function installProfiler(): void {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r as T))));
  process.on('message', (m: ProfilerMessage) => {
    if (m?.profile === 'start') {
      void post('Profiler.enable')
        .then(() => post('Profiler.start'))
        .then(() => process.send?.({ profiled: 'started' }));
    } else if (m?.profile === 'stop') {
      void post<{ profile: Profiler.Profile }>('Profiler.stop').then(({ profile }) => {
        writeFileSync(m.file, JSON.stringify(profile));
        process.send?.({ profiled: m.file });
      });
    }
  });
}

/** Self time of a profile, as a share of its busy time (idle left out): top packages and functions. */
export function summarizeProfile(profile: Profiler.Profile, top = 20): string {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const add = (into: Map<string, number>, key: string, us: number) => into.set(key, (into.get(key) ?? 0) + us);
  let busy = 0;
  profile.samples?.forEach((id, i) => {
    const frame = nodes.get(id)!;
    const us = profile.timeDeltas?.[i] ?? 0;
    if (frame.functionName === '(idle)') return;
    busy += us;
    add(byPackage, packageOf(frame.url, frame.functionName), us);
    const where = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    add(byFunction, `${frame.functionName || '(anonymous)'}${where}`, us);
  });
  const lines = (m: Map<string, number>) =>
    [...m]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([k, us]) => `    ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${k}`)
      .join('\n');
  return `busy ${(busy / 1e6).toFixed(1)} s of CPU; self time by package:\n${lines(byPackage)}\n  by function:\n${lines(byFunction)}`;
}

/** `kafkajs`, `@nestjs/core`, `node:internal`, our `src/platform/kafka`, or `(garbage collector)` for V8's own frames. */
function packageOf(url: string, functionName: string): string {
  if (!url) return `(${functionName.replace(/[()]/g, '')})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url.split('/')[0];
  const ours = /\/((?:src|bench)\/(?:[^/]+\/)?[^/]+)\//.exec(url);
  return ours ? ours[1] : url;
}

function shortUrl(url: string): string {
  return url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/').replace(/^file:\/\//, '');
}
