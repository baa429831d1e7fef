/**
 * Launching Debian's Chromium for the browser tests and the playground bench without it escaping `nice`: run as
 * root, Chromium lowers its own nice value (the browser process to −8, renderers to 0), so a `nice -n 19` run would
 * take the cores from everything else on a shared machine — and a page-versus-Node bench would compare a page at
 * nice 0 with Node at 19. Started through `setpriv --bounding-set -sys_nice`, it cannot raise its priority.
 */
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Debian's Chromium (apt-get install chromium). */
export const CHROMIUM = "/usr/bin/chromium";
const SETPRIV = "/usr/bin/setpriv";

/**
 * The executable to hand to playwright: a wrapper in `dir` that starts Chromium unable to raise its priority, or
 * Chromium itself where setpriv is missing.
 */
export function politeChromium(dir: string): string {
  if (!existsSync(SETPRIV)) return CHROMIUM;
  const wrapper = join(dir, "chromium-nice.sh");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${SETPRIV} --bounding-set -sys_nice -- ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}
