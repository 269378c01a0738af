// server.mjs — starts `whale serve` (or the scripted whale-fake-serve) on a free loopback port
// for the end-to-end tests, and tells a test whether its npm / browser prerequisites exist.
//
// Environment (set by CTest, tests/server/CMakeLists.txt):
//   WHALE_SERVE_CMD  JSON array: the server command line without the port, e.g.
//                    ["/…/whale","serve","-m","/…/demo.gguf","--ctx-size","512"]
//   CI               set in CI: a missing prerequisite fails instead of skipping.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const SKIP = 77;  // CTest SKIP_RETURN_CODE

// Ends the process: a failure in CI, a skip on a developer's machine.
export function missingPrerequisite(what) {
  const ci = process.env.CI && process.env.CI !== 'false';
  console.error(`${ci ? 'FAIL' : 'SKIP'}: ${what}`);
  process.exit(ci ? 1 : SKIP);
}

export async function importOrSkip(name) {
  try {
    return await import(name);
  } catch (e) {
    missingPrerequisite(`npm package ${name} is missing: run \`npm ci\` in tests/server/js (${e.message})`);
  }
}

// Starts the server with `extra` arguments; resolves once it prints its address.
export function startServer(extra = [], { command } = {}) {
  const cmd = command || JSON.parse(process.env.WHALE_SERVE_CMD || 'null');
  if (!cmd) throw new Error('WHALE_SERVE_CMD is not set');
  const proc = spawn(cmd[0], [...cmd.slice(1), '--port', '0', ...extra], { stdio: ['ignore', 'inherit', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${log}`)), 60_000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      process.stderr.write(d);
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(log);
      if (m && !proc.started) {
        proc.started = true;
        clearTimeout(timer);
        resolve({
          url: m[1],
          proc,
          log: () => log,
          rssKiB: () => rssKiB(proc.pid),
          // Sends `signal` and resolves with the exit code (null if killed by a signal).
          stop: (signal = 'SIGTERM') => new Promise((res) => {
            if (proc.exitCode !== null) return res(proc.exitCode);
            proc.once('exit', (code) => res(code));
            proc.kill(signal);
          }),
        });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (!proc.started) reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
}

export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export async function modelId(url) {
  const r = await fetch(`${url}/v1/models`);
  return (await r.json()).data[0].id;
}
