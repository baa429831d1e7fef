/**
 * Noticing that this process's parent has exited. A process whose parent dies is re-parented (to init or a
 * sub-reaper), so its parent pid changes; polling for that is the portable way to notice (Linux's PR_SET_PDEATHSIG is
 * not reachable from Node). npm's `npx`/`npm exec` wrapper runs a command as a grandchild through `sh -c` and, when
 * killed, takes the shell down but not the command: `npx scaling-lab serve &` then `kill $!` would leave the server
 * answering without this.
 */

/** Whether this process runs under npm's wrapper (`npx`, `npm exec`, `npm run`): npm sets `npm_command` for its commands. */
export function startedByNpm(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.npm_command);
}

/**
 * Calls `onExit` once when the parent this process has now exits, checking every `everyMs` ms. The timer does not
 * keep the process alive. Returns a function that stops watching.
 */
export function watchParent(onExit: () => void, everyMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onExit();
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
