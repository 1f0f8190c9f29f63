/**
 * A stalling pipe for the real-SFTP tests (test/sftp-*.test.ts), run by the
 * OpenSSH client as its "server": `sftp -D "node sftp-stall-proxy.js
 * <afterBytes> <hold> /usr/lib/openssh/sftp-server"`. It starts the real
 * sftp-server and copies the client's stream to it, holding it once
 * `afterBytes` bytes have passed, for `hold` ms, or (a path) until that file
 * exists (at most 5 minutes: the test releases it) (a client that stalls mid-upload: a
 * slow link, a laptop lid closed); the server's replies pass unchanged.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const [afterText, holdText, server, ...serverArgs] = process.argv.slice(2);
const after = Number(afterText);
const releaseFile = holdText?.startsWith('/') ? holdText : null;
const hold = releaseFile ? 300_000 : Number(holdText);
if (!Number.isFinite(after) || !Number.isFinite(hold) || !server) {
  process.stderr.write('usage: sftp-stall-proxy <afterBytes> <holdMs> <sftp-server> [args...]\n');
  process.exit(2);
}
const child = spawn(server, serverArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
child.stdout.pipe(process.stdout);
child.on('exit', (code) => process.exit(code ?? 1));
let passed = 0;
let held = false;
process.stdin.on('data', (chunk: Buffer) => {
  if (held || passed + chunk.length <= after || passed >= after) {
    passed += chunk.length;
    child.stdin.write(chunk);
    return;
  }
  // the first `after` bytes go now, the rest after the pause
  const now = chunk.subarray(0, after - passed);
  const later = chunk.subarray(after - passed);
  passed += chunk.length;
  child.stdin.write(now);
  held = true;
  process.stdin.pause();
  const t0 = Date.now();
  const resume = () => {
    if (releaseFile && !existsSync(releaseFile) && Date.now() - t0 < hold) return void setTimeout(resume, 100);
    child.stdin.write(later);
    process.stdin.resume();
  };
  setTimeout(resume, releaseFile ? 100 : hold);
});
process.stdin.on('end', () => child.stdin.end());
