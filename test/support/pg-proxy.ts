import { createServer, Socket } from 'node:net';

export interface PgProxy {
  /** A DATABASE_URL that goes through the proxy. */
  url: string;
  /**
   * The next COMMIT answered on a connection that sent a statement containing `marker` is lost: the
   * proxy cuts that connection instead of passing the answer on, as a network failure right after
   * the server committed would. The client cannot tell whether its transaction committed.
   */
  loseNextCommitAnswer(marker: string): void;
  /** How many COMMIT answers it has lost. */
  readonly lost: number;
  /** Cuts every connection and refuses new ones (each is closed as it opens), as a database that went away. */
  goDown(): void;
  /** Lets connections through again. */
  comeBack(): void;
  /** Connections refused while down. */
  readonly refused: number;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 in front of the Postgres of `databaseUrl` (no TLS), reading the server's messages. */
export async function startPgProxy(databaseUrl: string): Promise<PgProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let armedMarker: string | undefined;
  let lost = 0;
  let down = false;
  let refused = 0;
  const server = createServer((client) => {
    if (down) {
      refused++;
      client.destroy();
      return;
    }
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    let armed = false;
    client.on('data', (chunk: Buffer) => {
      if (armedMarker !== undefined && chunk.includes(armedMarker)) armed = true;
      upstream.write(chunk);
    });
    // The server's side is a stream of typed messages (a type byte, then a length that counts itself).
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let end = 0;
      while (pending.length - end >= 5) {
        const size = 1 + pending.readInt32BE(end + 1);
        if (pending.length - end < size) break;
        const isCommitDone = pending[end] === 0x43 /* C */ && pending.subarray(end + 5, end + size).toString('latin1').startsWith('COMMIT\0');
        if (armed && armedMarker !== undefined && isCommitDone) {
          client.write(pending.subarray(0, end));
          armedMarker = undefined;
          lost++;
          cut();
          return;
        }
        end += size;
      }
      client.write(pending.subarray(0, end));
      pending = pending.subarray(end);
    });
    upstream.connect(Number(target.port || 5432), target.hostname);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    loseNextCommitAnswer: (marker) => (armedMarker = marker),
    get lost() {
      return lost;
    },
    goDown: () => {
      down = true;
      for (const s of sockets) s.destroy();
    },
    comeBack: () => (down = false),
    get refused() {
      return refused;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
