import net from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it); for servers the tests start. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return srv.close(() => reject(new Error('freePort: no address')));
      srv.close(() => resolve(addr.port));
    });
  });
}
